/* edge_cover.c — keeps the committed corpora small (make fuzz-reduce).
 * Linked with a target whose code under test is compiled with
 * -fsanitize-coverage=trace-pc-guard: runs every input of KEEP (the
 * committed corpus, all kept) and of FOUND (what make fuzz found), records
 * the edges each reaches, and prints the FOUND files to add: greedily the
 * one reaching the most edges nothing chosen reaches yet (the smaller on a
 * tie), until no file adds an edge or MAX files were picked.
 * Usage: edge_cover_X MAX KEEP_DIR FOUND_DIR. The summary goes to stderr. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static uint32_t nguards;
static unsigned char *hit;             /* hit[g]: guard g reached by the input running now */

void __sanitizer_cov_trace_pc_guard_init(uint32_t *start, uint32_t *stop) {
  if (start == stop || *start) return;
  for (uint32_t *g = start; g < stop; g++) *g = ++nguards;
  hit = realloc(hit, nguards + 1);
  if (hit == NULL) abort();
  memset(hit, 0, nguards + 1);
}

void __sanitizer_cov_trace_pc_guard(uint32_t *guard) {
  if (hit) hit[*guard] = 1;
}

typedef struct input { char *path; size_t size; unsigned char *edges; int picked; } input;

static input *inputs;
static size_t ninputs, capinputs;

/* Runs every file of dir and records its edges. */
static void run_dir(const char *dir) {
  DIR *d = opendir(dir);
  if (d == NULL) return;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue;
    size_t plen = strlen(dir) + strlen(e->d_name) + 2;
    char *path = malloc(plen);
    snprintf(path, plen, "%s/%s", dir, e->d_name);
    FILE *f = fopen(path, "rb");
    if (f == NULL) { free(path); continue; }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
    size_t got = fread(buf, 1, (size_t)n, f);
    fclose(f);
    memset(hit, 0, nguards + 1);
    LLVMFuzzerTestOneInput(buf, got);
    free(buf);
    if (ninputs == capinputs) {
      capinputs = capinputs ? capinputs * 2 : 256;
      inputs = realloc(inputs, capinputs * sizeof *inputs);
    }
    input *in = &inputs[ninputs++];
    in->path = path;
    in->size = got;
    in->edges = malloc(nguards + 1);
    memcpy(in->edges, hit, nguards + 1);
    in->picked = 0;
  }
  closedir(d);
}

int main(int argc, char **argv) {
  if (argc != 4) { fprintf(stderr, "usage: %s MAX KEEP_DIR FOUND_DIR\n", argv[0]); return 2; }
  if (LLVMFuzzerInitialize) LLVMFuzzerInitialize(&argc, &argv);
  int max = atoi(argv[1]);
  run_dir(argv[2]);
  size_t nkeep = ninputs;
  run_dir(argv[3]);
  unsigned char *covered = calloc(nguards + 1, 1);
  size_t ncovered = 0, nall = 0;
  for (uint32_t g = 1; g <= nguards; g++) {
    int any = 0;
    for (size_t i = 0; i < ninputs; i++) if (inputs[i].edges[g]) { any = 1; break; }
    nall += any;
    for (size_t i = 0; i < nkeep; i++) if (inputs[i].edges[g]) { covered[g] = 1; ncovered++; break; }
  }
  size_t before = ncovered;
  int picked = 0;
  while (picked < max) {
    size_t best = (size_t)-1, best_gain = 0;
    for (size_t i = nkeep; i < ninputs; i++) {
      if (inputs[i].picked) continue;
      size_t gain = 0;
      for (uint32_t g = 1; g <= nguards; g++) gain += inputs[i].edges[g] && !covered[g];
      if (gain > best_gain || (gain == best_gain && gain && inputs[i].size < inputs[best].size)) { best = i; best_gain = gain; }
    }
    if (best_gain == 0) break;
    inputs[best].picked = 1;
    for (uint32_t g = 1; g <= nguards; g++) if (inputs[best].edges[g] && !covered[g]) { covered[g] = 1; ncovered++; }
    printf("%s\n", inputs[best].path);
    picked++;
  }
  fprintf(stderr, "edge_cover: the corpus (%zu files) reaches %zu of the %zu edges seen; %d found files add %zu\n",
          nkeep, before, nall, picked, ncovered - before);
  return 0;
}
