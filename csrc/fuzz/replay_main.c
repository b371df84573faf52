/* replay_main.c — runs a fuzz target over fixed inputs without libFuzzer:
 * `fuzz_x.replay DIR|FILE...` calls LLVMFuzzerTestOneInput once per file
 * (directories: every regular file in them, sorted). Built with ASan and
 * UBSan for `make test`; a crash or broken invariant aborts, so the exit
 * status is non-zero. Prints "replayed N inputs". */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static int run_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) { perror(path); return -1; }
  size_t cap = 4096, n = 0;
  uint8_t *buf = malloc(cap);
  if (buf == NULL) { fclose(f); return -1; }
  size_t got;
  while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
    n += got;
    if (n == cap) {
      uint8_t *nb = realloc(buf, cap *= 2);
      if (nb == NULL) { free(buf); fclose(f); return -1; }
      buf = nb;
    }
  }
  fclose(f);
  /* An exact-size copy: ASan then catches a read one past the input. */
  uint8_t *exact = malloc(n ? n : 1);
  if (exact == NULL) { free(buf); return -1; }
  memcpy(exact, buf, n);
  free(buf);
  LLVMFuzzerTestOneInput(exact, n);
  free(exact);
  return 0;
}

static int cmp_names(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every regular file of dir, in name order; returns how many ran or -1. */
static long run_dir(const char *dir) {
  DIR *d = opendir(dir);
  if (d == NULL) { perror(dir); return -1; }
  char **names = NULL;
  size_t count = 0, cap = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue;
    if (count == cap) {
      char **nn = realloc(names, (cap = cap ? cap * 2 : 64) * sizeof *nn);
      if (nn == NULL) { closedir(d); return -1; }
      names = nn;
    }
    size_t len = strlen(dir) + strlen(e->d_name) + 2;
    names[count] = malloc(len);
    if (names[count] == NULL) { closedir(d); return -1; }
    snprintf(names[count++], len, "%s/%s", dir, e->d_name);
  }
  closedir(d);
  qsort(names, count, sizeof *names, cmp_names);
  long ran = 0;
  for (size_t i = 0; i < count; i++) {
    struct stat st;
    if (stat(names[i], &st) == 0 && S_ISREG(st.st_mode)) {
      if (run_file(names[i]) != 0) { ran = -1; break; }
      ran++;
    }
  }
  for (size_t i = 0; i < count; i++) free(names[i]);
  free(names);
  return ran;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s DIR|FILE...\n", argv[0]);
    return 2;
  }
  if (LLVMFuzzerInitialize) LLVMFuzzerInitialize(&argc, &argv);
  long total = 0;
  for (int i = 1; i < argc; i++) {
    struct stat st;
    if (stat(argv[i], &st) != 0) { perror(argv[i]); return 1; }
    long ran = S_ISDIR(st.st_mode) ? run_dir(argv[i]) : (run_file(argv[i]) == 0 ? 1 : -1);
    if (ran < 0) return 1;
    total += ran;
  }
  printf("replayed %ld inputs\n", total);
  return 0;
}
