/* raw_sqlite.c — the floor: libsqlite3 with prepared statements, no
 * wrapper. usage: raw_sqlite DBPATH WORKLOAD N   (WORKLOAD: setup W1 W2 W3 W4 W4tx W5)
 * Prints one RESULT line; times only the workload. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
static void die(sqlite3 *db, const char *what) { fprintf(stderr, "%s: %s\n", what, sqlite3_errmsg(db)); exit(1); }
static void exec(sqlite3 *db, const char *sql) { if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) die(db, sql); }
static sqlite3_stmt *prep(sqlite3 *db, const char *sql) {
  sqlite3_stmt *s; if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK) die(db, sql); return s;
}

static void insert_rows(sqlite3 *db, const char *table, long n, int one_tx) {
  char sql[128];
  snprintf(sql, sizeof sql, "INSERT INTO %s (id, name, age, score) VALUES (?, ?, ?, ?)", table);
  sqlite3_stmt *s = prep(db, sql);
  if (one_tx) exec(db, "BEGIN");
  char name[32];
  for (long i = 1; i <= n; i++) {
    int len = snprintf(name, sizeof name, "name%ld", i);
    sqlite3_bind_int64(s, 1, i);
    sqlite3_bind_text(s, 2, name, len, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 3, i % 100);
    sqlite3_bind_double(s, 4, i * 0.5);
    if (sqlite3_step(s) != SQLITE_DONE) die(db, "insert");
    sqlite3_reset(s);
  }
  if (one_tx) exec(db, "COMMIT");
  sqlite3_finalize(s);
}

int main(int argc, char **argv) {
  if (argc < 4) { fprintf(stderr, "usage: raw_sqlite DBPATH WORKLOAD N\n"); return 2; }
  const char *path = argv[1], *w = argv[2];
  long n = atol(argv[3]);
  sqlite3 *db;
  if (sqlite3_open(path, &db) != SQLITE_OK) die(db, "open");
  exec(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL");
  double t0, t1;
  long long check = 0;
  if (!strcmp(w, "setup")) {            /* shared read tables: bench_read (N rows), bench_stream (10*N) */
    exec(db, "DROP TABLE IF EXISTS bench_read; DROP TABLE IF EXISTS bench_stream;"
             "CREATE TABLE bench_read (id INTEGER PRIMARY KEY, name TEXT, age INTEGER, score REAL);"
             "CREATE TABLE bench_stream (id INTEGER PRIMARY KEY, name TEXT, age INTEGER, score REAL)");
    insert_rows(db, "bench_read", n, 1);
    insert_rows(db, "bench_stream", n * 10, 1);
    sqlite3_close(db);
    return 0;
  }
  if (!strcmp(w, "W1") || !strcmp(w, "W2")) {
    exec(db, "DROP TABLE IF EXISTS bench_write; CREATE TABLE bench_write (id INTEGER PRIMARY KEY, name TEXT, age INTEGER, score REAL)");
    t0 = now();
    insert_rows(db, "bench_write", n, !strcmp(w, "W1"));
    t1 = now();
    sqlite3_stmt *s = prep(db, "SELECT count(*) FROM bench_write");
    sqlite3_step(s); check = sqlite3_column_int64(s, 0); sqlite3_finalize(s);
  } else if (!strcmp(w, "W3") || !strcmp(w, "W5")) {
    /* W3 materialises every row (an array of structs, as an application would) */
    const char *sql = !strcmp(w, "W3") ? "SELECT id, name, age, score FROM bench_read" : "SELECT id, name, age, score FROM bench_stream";
    typedef struct { long long id; char *name; long long age; double score; } row;
    int keep = !strcmp(w, "W3");
    row *rows = keep ? malloc(sizeof(row) * (size_t)(n + 1)) : NULL;
    long count = 0;
    t0 = now();
    sqlite3_stmt *s = prep(db, sql);
    while (sqlite3_step(s) == SQLITE_ROW) {
      row r = { sqlite3_column_int64(s, 0), strdup((const char *)sqlite3_column_text(s, 1)),
                sqlite3_column_int64(s, 2), sqlite3_column_double(s, 3) };
      check += keep ? r.age : 1;
      if (keep && count < n) rows[count] = r; else free(r.name);
      count++;
    }
    sqlite3_finalize(s);
    t1 = now();
    if (keep) { for (long i = 0; i < count && i < n; i++) free(rows[i].name); free(rows); }
  } else if (!strcmp(w, "W4") || !strcmp(w, "W4tx")) {
    long rows = atol(argc > 4 ? argv[4] : "100000");
    long long seed = 42;                 /* minstd LCG: exact in doubles, so Lua and Python agree */
    t0 = now();
    if (!strcmp(w, "W4tx")) exec(db, "BEGIN");
    sqlite3_stmt *s = prep(db, "SELECT id, name, age, score FROM bench_read WHERE id = ?");
    for (long i = 0; i < n; i++) {
      seed = seed * 48271 % 2147483647;
      long k = (long)(seed % rows) + 1;
      sqlite3_bind_int64(s, 1, k);
      if (sqlite3_step(s) != SQLITE_ROW) die(db, "point select");
      check += sqlite3_column_int64(s, 2);
      sqlite3_reset(s);
    }
    sqlite3_finalize(s);
    if (!strcmp(w, "W4tx")) exec(db, "COMMIT");
    t1 = now();
  } else { fprintf(stderr, "unknown workload %s\n", w); return 2; }
  struct rusage ru; getrusage(RUSAGE_SELF, &ru);
  printf("RESULT seconds=%.6f check=%lld maxrss_kb=%ld\n", t1 - t0, check, ru.ru_maxrss);
  sqlite3_close(db);
  return 0;
}
