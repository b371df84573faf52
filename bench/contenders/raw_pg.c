/* raw_pg.c — the PostgreSQL floor: libpq prepared statements; W1 in
 * pipeline mode (one round trip per batch, not per row).
 * usage: raw_pg CONNINFO WORKLOAD N [ROWS]   (setup W1 W1loop W2 W3 W4 W4tx W5) */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
static PGconn *pg;
static void die(const char *what) { fprintf(stderr, "%s: %s\n", what, PQerrorMessage(pg)); exit(1); }
static void exec(const char *sql) {
  PGresult *r = PQexec(pg, sql);
  if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) die(sql);
  PQclear(r);
}
static void prepare(const char *name, const char *sql) {
  PGresult *r = PQprepare(pg, name, sql, 0, NULL);
  if (PQresultStatus(r) != PGRES_COMMAND_OK) die(sql);
  PQclear(r);
}

static void insert_rows(const char *table, long n, int one_tx, int pipeline) {
  char sql[160];
  snprintf(sql, sizeof sql, "INSERT INTO %s (id, name, age, score) VALUES ($1::int8, $2, $3::int8, $4::float8)", table);
  prepare("ins", sql);
  if (one_tx) exec("BEGIN");
  if (pipeline && !PQenterPipelineMode(pg)) die("pipeline");
  char id[24], name[32], age[24], score[32];
  const char *vals[4] = { id, name, age, score };
  long pending = 0;
  for (long i = 1; i <= n; i++) {
    snprintf(id, sizeof id, "%ld", i); snprintf(name, sizeof name, "name%ld", i);
    snprintf(age, sizeof age, "%ld", i % 100); snprintf(score, sizeof score, "%.17g", i * 0.5);
    if (pipeline) {
      if (!PQsendQueryPrepared(pg, "ins", 4, vals, NULL, NULL, 0)) die("send");
      if (++pending == 1000 || i == n) {       /* sync per batch, then read the batch's results */
        PQpipelineSync(pg);
        for (;;) {
          PGresult *r = PQgetResult(pg);
          if (r == NULL) continue;
          ExecStatusType st = PQresultStatus(r);
          PQclear(r);
          if (st == PGRES_PIPELINE_SYNC) break;
          if (st != PGRES_COMMAND_OK) die("pipelined insert");
        }
        pending = 0;
      }
    } else {
      PGresult *r = PQexecPrepared(pg, "ins", 4, vals, NULL, NULL, 0);
      if (PQresultStatus(r) != PGRES_COMMAND_OK) die("insert");
      PQclear(r);
    }
  }
  if (pipeline) PQexitPipelineMode(pg);
  if (one_tx) exec("COMMIT");
  exec("DEALLOCATE ins");
}

static long long scalar(const char *sql) {
  PGresult *r = PQexec(pg, sql);
  if (PQresultStatus(r) != PGRES_TUPLES_OK) die(sql);
  long long v = atoll(PQgetvalue(r, 0, 0));
  PQclear(r);
  return v;
}

int main(int argc, char **argv) {
  if (argc < 4) { fprintf(stderr, "usage: raw_pg CONNINFO WORKLOAD N [ROWS]\n"); return 2; }
  const char *w = argv[2];
  long n = atol(argv[3]);
  pg = PQconnectdb(argv[1]);
  if (PQstatus(pg) != CONNECTION_OK) die("connect");
  PQclear(PQexec(pg, "SET client_min_messages = warning"));
  double t0 = 0, t1 = 0;
  long long check = 0;
  if (!strcmp(w, "setup")) {
    exec("DROP TABLE IF EXISTS bench_read; DROP TABLE IF EXISTS bench_stream;"
         "CREATE TABLE bench_read (id integer primary key, name text, age integer, score real);"
         "CREATE TABLE bench_stream (id integer primary key, name text, age integer, score real)");
    insert_rows("bench_read", n, 1, 1);
    insert_rows("bench_stream", n * 10, 1, 1);
    exec("ANALYZE bench_read; ANALYZE bench_stream");
    PQfinish(pg);
    return 0;
  }
  if (!strcmp(w, "W1") || !strcmp(w, "W1loop") || !strcmp(w, "W2")) {
    exec("DROP TABLE IF EXISTS bench_write; CREATE TABLE bench_write (id integer primary key, name text, age integer, score real)");
    t0 = now();
    insert_rows("bench_write", n, strcmp(w, "W2") != 0, !strcmp(w, "W1"));
    t1 = now();
    check = scalar("SELECT count(*) FROM bench_write");
  } else if (!strcmp(w, "W3")) {
    typedef struct { long long id; char *name; long long age; double score; } row;
    t0 = now();
    prepare("sel", "SELECT id, name, age, score FROM bench_read");
    PGresult *r = PQexecPrepared(pg, "sel", 0, NULL, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) die("select");
    int nr = PQntuples(r);
    row *rows = malloc(sizeof(row) * (size_t)(nr ? nr : 1));
    for (int i = 0; i < nr; i++) {
      rows[i].id = atoll(PQgetvalue(r, i, 0));
      rows[i].name = strdup(PQgetvalue(r, i, 1));
      rows[i].age = atoll(PQgetvalue(r, i, 2));
      rows[i].score = strtod(PQgetvalue(r, i, 3), NULL);
      check += rows[i].age;
    }
    PQclear(r);
    t1 = now();
    for (int i = 0; i < nr; i++) free(rows[i].name);
    free(rows);
  } else if (!strcmp(w, "W4") || !strcmp(w, "W4tx")) {
    long rows = argc > 4 ? atol(argv[4]) : 100000;
    long long seed = 42;
    t0 = now();
    prepare("pt", "SELECT id, name, age, score FROM bench_read WHERE id = $1::int8");
    if (!strcmp(w, "W4tx")) exec("BEGIN");
    char key[24];
    const char *vals[1] = { key };
    for (long i = 0; i < n; i++) {
      seed = seed * 48271 % 2147483647;
      snprintf(key, sizeof key, "%ld", (long)(seed % rows) + 1);
      PGresult *r = PQexecPrepared(pg, "pt", 1, vals, NULL, NULL, 0);
      if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) die("point select");
      check += atoll(PQgetvalue(r, 0, 2));
      PQclear(r);
    }
    if (!strcmp(w, "W4tx")) exec("COMMIT");
    t1 = now();
  } else if (!strcmp(w, "W5")) {
    t0 = now();
    if (!PQsendQueryParams(pg, "SELECT id, name, age, score FROM bench_stream", 0, NULL, NULL, NULL, NULL, 0)) die("send");
    PQsetSingleRowMode(pg);
    PGresult *r;
    while ((r = PQgetResult(pg)) != NULL) {
      if (PQresultStatus(r) == PGRES_SINGLE_TUPLE) check++;
      else if (PQresultStatus(r) != PGRES_TUPLES_OK) die("stream");
      PQclear(r);
    }
    t1 = now();
  } else { fprintf(stderr, "unknown workload %s\n", w); return 2; }
  struct rusage ru; getrusage(RUSAGE_SELF, &ru);
  printf("RESULT seconds=%.6f check=%lld maxrss_kb=%ld\n", t1 - t0, check, ru.ru_maxrss);
  PQfinish(pg);
  return 0;
}
