/* The client SDK used from C (sotto/client/c_api.h), compiled as C11.
 *
 *   c_api_test                          checks the API's refusals (no coordinator needed);
 *   c_api_test PORT CA CERT KEY ROUNDS  takes part in a run of a coordinator listening on
 *                                       127.0.0.1:PORT as client "c-client", training a
 *                                       quadratic; expects ROUNDS completed rounds.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sotto/client/c_api.h"

#define N 64

static int failures = 0;
#define EXPECT(cond)                                                   \
  do {                                                                 \
    if (!(cond)) {                                                     \
      fprintf(stderr, "%s:%d: expected %s\n", __FILE__, __LINE__, #cond); \
      ++failures;                                                      \
    }                                                                  \
  } while (0)

struct quadratic {
  float target[N];
  int calls;
  uint64_t last_round;
};

/* Local "training" on f(x) = |x - target|^2 / 2: one gradient step of size 1/2, so the
 * pseudo-gradient global - local is (global - target) / 2. */
static int train(void* user, const float* global, float* update, size_t n, uint64_t round,
                 uint64_t seed, uint64_t* num_examples, double* train_loss) {
  struct quadratic* q = (struct quadratic*)user;
  double loss = 0.0;
  size_t i;
  (void)seed;
  if (n != N) return 1;
  for (i = 0; i < n; ++i) {
    const float diff = global[i] - q->target[i];
    update[i] = 0.5f * diff;
    loss += 0.5 * (double)diff * (double)diff;
  }
  *num_examples = 10;
  *train_loss = loss;
  q->calls += 1;
  q->last_round = round;
  return 0;
}

static void refusals(void) {
  sotto_client_config config;
  struct quadratic q;
  sotto_trainer trainer;
  sotto_client* client = (sotto_client*)0x1;
  char error[256];
  int rc;
  memset(&q, 0, sizeof q);
  trainer.user = &q;
  trainer.num_parameters = N;
  trainer.train = train;

  sotto_client_config_init(&config);
  EXPECT(config.initial_backoff_ms == 200 && config.threads == 1 && config.state_file == NULL);
  /* No client id. */
  config.coordinator_port = 1;
  rc = sotto_client_create(&config, &trainer, &client, error, sizeof error);
  EXPECT(rc == SOTTO_INVALID_ARGUMENT);
  EXPECT(client == NULL);
  EXPECT(strstr(error, "client_id") != NULL);
  /* No port. */
  config.client_id = "c-client";
  config.coordinator_port = 0;
  rc = sotto_client_create(&config, &trainer, &client, error, sizeof error);
  EXPECT(rc == SOTTO_INVALID_ARGUMENT);
  EXPECT(strstr(error, "coordinator_port") != NULL);
  /* A trainer without a callback. */
  config.coordinator_port = 1;
  trainer.train = NULL;
  rc = sotto_client_create(&config, &trainer, &client, error, sizeof error);
  EXPECT(rc == SOTTO_INVALID_ARGUMENT);
  EXPECT(strstr(error, "trainer") != NULL);
  trainer.train = train;
  /* Certificate files that do not exist. */
  config.ca_file = "/nonexistent/ca.pem";
  config.cert_file = "/nonexistent/c.pem";
  config.key_file = "/nonexistent/c.key";
  rc = sotto_client_create(&config, &trainer, &client, error, sizeof error);
  EXPECT(rc != SOTTO_OK);
  EXPECT(client == NULL);
  /* A short error buffer is truncated, not overrun. */
  error[4] = 'X';
  config.client_id = "";
  rc = sotto_client_create(&config, &trainer, &client, error, 4);
  EXPECT(rc == SOTTO_INVALID_ARGUMENT);
  EXPECT(error[3] == '\0' && error[4] == 'X');
  sotto_client_destroy(NULL);
}

static int take_part(int argc, char** argv) {
  sotto_client_config config;
  struct quadratic q;
  sotto_trainer trainer;
  sotto_client* client = NULL;
  sotto_client_stats stats;
  char error[512];
  int rc;
  size_t i;
  const long rounds = strtol(argv[5], NULL, 10);
  (void)argc;
  memset(&q, 0, sizeof q);
  for (i = 0; i < N; ++i) q.target[i] = (float)i / N;
  trainer.user = &q;
  trainer.num_parameters = N;
  trainer.train = train;
  sotto_client_config_init(&config);
  config.client_id = "c-client";
  config.coordinator_port = (uint16_t)strtol(argv[1], NULL, 10);
  config.server_name = "localhost";
  config.ca_file = argv[2];
  config.cert_file = argv[3];
  config.key_file = argv[4];
  config.seed = 42;
  config.initial_backoff_ms = 50;
  config.max_attempts = 40;
  rc = sotto_client_create(&config, &trainer, &client, error, sizeof error);
  if (rc != SOTTO_OK) {
    fprintf(stderr, "create: %s\n", error);
    return 1;
  }
  rc = sotto_client_run(client, error, sizeof error);
  if (rc != SOTTO_OK) fprintf(stderr, "run: %s\n", error);
  EXPECT(rc == SOTTO_OK);
  sotto_client_get_stats(client, &stats);
  printf("c client: %d train calls, %llu rounds completed, %llu bytes sent\n", q.calls,
         (unsigned long long)stats.rounds_completed, (unsigned long long)stats.bytes_sent);
  EXPECT(q.calls == rounds);
  EXPECT(stats.rounds_completed == (uint64_t)rounds);
  EXPECT(q.last_round == (uint64_t)rounds);
  EXPECT(stats.connections >= 1 && stats.bytes_sent > 0);
  sotto_client_destroy(client);
  return 0;
}

int main(int argc, char** argv) {
  if (argc == 6) {
    if (take_part(argc, argv) != 0) return 1;
  } else if (argc == 1) {
    refusals();
  } else {
    fprintf(stderr, "usage: c_api_test [PORT CA CERT KEY ROUNDS]\n");
    return 2;
  }
  if (failures != 0) {
    fprintf(stderr, "%d expectation(s) failed\n", failures);
    return 1;
  }
  printf("c_api_test: ok\n");
  return 0;
}
