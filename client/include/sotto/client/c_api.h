/* sotto's edge client SDK for C (and for anything with a C FFI: Python ctypes, Rust, Swift).
 *
 * A C application implements one callback, train, and hands it to a client that connects to
 * the coordinator over mutual TLS and takes part in rounds exactly as sotto::client::Client
 * does (sotto/client/client.h): compression with error feedback, secure aggregation,
 * reconnects with jittered backoff, memory and bandwidth budgets.
 *
 *   sotto_client_config config;
 *   sotto_client_config_init(&config);
 *   config.client_id = "hospital-7";  config.coordinator_port = 7443;  ...
 *   sotto_trainer trainer = {my_state, num_parameters, my_train};
 *   sotto_client* client = NULL;
 *   char error[256];
 *   if (sotto_client_create(&config, &trainer, &client, error, sizeof error) != SOTTO_OK) ...
 *   int rc = sotto_client_run(client, error, sizeof error);  (blocks until the run finishes)
 *   sotto_client_destroy(client);
 *
 * Return codes are sotto::StatusCode values (SOTTO_OK = 0); on an error the message is copied,
 * NUL-terminated and truncated to fit, into `error` when it is not NULL.
 *
 * Threading: sotto_client_run blocks the calling thread and calls train on it; the network
 * runs on a thread of the client's own. sotto_client_stop may be called from any thread (a
 * signal handler must not: it takes a lock). Strings in the config are copied at create.
 */
#ifndef SOTTO_CLIENT_C_API_H_
#define SOTTO_CLIENT_C_API_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
  SOTTO_OK = 0,
  SOTTO_CANCELLED = 1,
  SOTTO_INVALID_ARGUMENT = 3,
  SOTTO_FAILED_PRECONDITION = 9,
  SOTTO_UNAVAILABLE = 14,
};

typedef struct sotto_client_config {
  const char* client_id;        /* must equal the CN of the client certificate */
  const char* coordinator_host; /* default "127.0.0.1" */
  uint16_t coordinator_port;
  const char* server_name;          /* expected in the coordinator's certificate; NULL: the host */
  const char* ca_file;              /* the federation CA (PEM) */
  const char* cert_file;            /* this client's certificate (PEM) */
  const char* key_file;             /* its private key (PEM, mode 0600) */
  uint64_t seed;                    /* local randomness: shuffles, stochastic rounding */
  uint64_t memory_budget_bytes;     /* 0: no limit */
  uint64_t uplink_bytes_per_second; /* 0: no pacing */
  uint32_t initial_backoff_ms;      /* default 200 */
  uint32_t max_backoff_ms;          /* default 10000 */
  double jitter;                    /* default 0.5 */
  uint32_t max_attempts;            /* consecutive failed connections before giving up; 0: never */
  int threads;                      /* default 1 */
  const char* state_file; /* compression state kept across restarts (client.h); NULL: none */
} sotto_client_config;

/* Trains from `global` (n floats) and writes the pseudo-gradient global - local into `update`
 * (n floats), the number of examples used and the mean training loss. Returns 0 on success;
 * anything else stops sotto_client_run with SOTTO_FAILED_PRECONDITION. */
typedef int (*sotto_train_fn)(void* user, const float* global, float* update, size_t n,
                              uint64_t round, uint64_t seed, uint64_t* num_examples,
                              double* train_loss);

typedef struct sotto_trainer {
  void* user;            /* passed back to train */
  size_t num_parameters; /* n */
  sotto_train_fn train;
} sotto_trainer;

typedef struct sotto_client_stats {
  uint64_t rounds_completed;
  uint64_t rounds_dropped;
  uint64_t rounds_declined;
  uint64_t connections;
  uint64_t bytes_sent;
  uint64_t bytes_received;
} sotto_client_stats;

typedef struct sotto_client sotto_client;

/* Fills `config` with the defaults (every pointer NULL, port 0). */
void sotto_client_config_init(sotto_client_config* config);

/* Checks the config and the certificate files and builds a client (nothing is dialled yet).
 * SOTTO_INVALID_ARGUMENT naming the field for a bad config or trainer. */
int sotto_client_create(const sotto_client_config* config, const sotto_trainer* trainer,
                        sotto_client** out, char* error, size_t error_len);

/* Takes part until the coordinator finishes the run (SOTTO_OK), sotto_client_stop
 * (SOTTO_CANCELLED), or a fatal error. Call once. */
int sotto_client_run(sotto_client* client, char* error, size_t error_len);

void sotto_client_stop(sotto_client* client);
void sotto_client_get_stats(const sotto_client* client, sotto_client_stats* stats);

/* Frees the client and stops its network thread. Call it after sotto_client_run has returned
 * (call sotto_client_stop first to make it return). NULL is allowed. */
void sotto_client_destroy(sotto_client* client);

#ifdef __cplusplus
}
#endif

#endif /* SOTTO_CLIENT_C_API_H_ */
