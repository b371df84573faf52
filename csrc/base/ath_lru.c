/* ath_lru.c — bounded LRU map (see ath_lru.h). */
#include "ath_lru.h"
#include <string.h>

typedef struct entry {
  struct entry *hnext;            /* hash chain */
  struct entry *prev, *next;      /* recency list: head = most recent */
  uint64_t hash;
  void *value;
  size_t keylen;
  char key[];                     /* keylen bytes + NUL */
} entry;

struct ath_lru {
  entry **buckets;
  size_t nbuckets;                /* power of two */
  size_t count, capacity;
  entry *head, *tail;
  ath_lru_evict_fn evict;
  void *ud;
};

/* Eight bytes at a time (keys are SQL texts and compiled-statement shapes,
 * often a few hundred bytes): multiply-xorshift mixing per word, then a
 * final avalanche. Not cryptographic: buckets compare whole keys. */
static uint64_t mix64(uint64_t x) {
  x ^= x >> 33; x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33; x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

uint64_t ath_hash_bytes(const void *p, size_t n) {
  const unsigned char *s = p;
  uint64_t h = 1469598103934665603ULL ^ (uint64_t)n;
  while (n >= 8) {
    uint64_t w;
    memcpy(&w, s, 8);
    h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
    h ^= h >> 29;
    s += 8;
    n -= 8;
  }
  uint64_t tail = 0;
  for (size_t i = 0; i < n; i++) tail |= (uint64_t)s[i] << (8 * i);
  h = (h ^ tail) * 0x9e3779b97f4a7c15ULL;
  return mix64(h);
}

ath_lru *ath_lru_new(size_t capacity, ath_lru_evict_fn evict, void *ud) {
  ath_lru *c = ath_calloc(1, sizeof *c);
  if (c == NULL) return NULL;
  size_t nb = 16;
  while (nb < capacity * 2 && nb < ((size_t)1 << 20)) nb *= 2;   /* load factor ≤ 0.5 */
  c->buckets = ath_calloc(nb, sizeof(entry *));
  if (c->buckets == NULL) { ath_free(c); return NULL; }
  c->nbuckets = nb;
  c->capacity = capacity;
  c->evict = evict;
  c->ud = ud;
  return c;
}

static entry **find_slot(ath_lru *c, const char *key, size_t keylen, uint64_t h) {
  entry **pp = &c->buckets[h & (c->nbuckets - 1)];
  for (; *pp; pp = &(*pp)->hnext) {
    entry *e = *pp;
    if (e->hash == h && e->keylen == keylen && memcmp(e->key, key, keylen) == 0) return pp;
  }
  return pp;
}

static void list_unlink(ath_lru *c, entry *e) {
  if (e->prev) e->prev->next = e->next; else c->head = e->next;
  if (e->next) e->next->prev = e->prev; else c->tail = e->prev;
  e->prev = e->next = NULL;
}

static void list_push_front(ath_lru *c, entry *e) {
  e->prev = NULL;
  e->next = c->head;
  if (c->head) c->head->prev = e; else c->tail = e;
  c->head = e;
}

/* Unlink e from both structures and free it; returns its value. */
static void *drop(ath_lru *c, entry *e) {
  entry **pp = find_slot(c, e->key, e->keylen, e->hash);
  *pp = e->hnext;
  list_unlink(c, e);
  c->count--;
  void *v = e->value;
  ath_free(e);
  return v;
}

static void drop_and_evict(ath_lru *c, entry *e) {
  /* Copy the key out first: the callback may look at it after e is gone. */
  char small[256];
  size_t n = e->keylen;
  char *key = n < sizeof small ? small : NULL;
  if (key) memcpy(key, e->key, n + 1);
  void *v;
  if (key == NULL) {                 /* long key: evict before freeing the entry */
    if (c->evict) c->evict(c->ud, e->key, n, e->value);
    drop(c, e);
    return;
  }
  v = drop(c, e);
  if (c->evict) c->evict(c->ud, key, n, v);
}

void *ath_lru_get(ath_lru *c, const char *key, size_t keylen) {
  uint64_t h = ath_hash_bytes(key, keylen);
  entry *e = *find_slot(c, key, keylen, h);
  if (e == NULL) return NULL;
  if (c->head != e) { list_unlink(c, e); list_push_front(c, e); }
  return e->value;
}

ath_status ath_lru_put(ath_lru *c, const char *key, size_t keylen, void *value, ath_error *err) {
  if (c->capacity == 0) {
    if (c->evict) c->evict(c->ud, key, keylen, value);
    return ATH_OK;
  }
  uint64_t h = ath_hash_bytes(key, keylen);
  entry *old = *find_slot(c, key, keylen, h);
  entry *e = ath_malloc(sizeof *e + keylen + 1);
  if (e == NULL) return ath_error_nomem(err);
  if (old) drop_and_evict(c, old);
  while (c->count >= c->capacity && c->tail) drop_and_evict(c, c->tail);
  e->hash = h;
  e->value = value;
  e->keylen = keylen;
  memcpy(e->key, key, keylen);
  e->key[keylen] = '\0';
  entry **pp = find_slot(c, key, keylen, h);   /* the NULL slot at the chain's end */
  e->hnext = NULL;
  *pp = e;
  list_push_front(c, e);
  c->count++;
  return ATH_OK;
}

void *ath_lru_remove(ath_lru *c, const char *key, size_t keylen) {
  uint64_t h = ath_hash_bytes(key, keylen);
  entry *e = *find_slot(c, key, keylen, h);
  return e ? drop(c, e) : NULL;
}

size_t ath_lru_count(const ath_lru *c) { return c->count; }

void ath_lru_clear(ath_lru *c) {
  while (c->tail) drop_and_evict(c, c->tail);
}

void ath_lru_free(ath_lru *c) {
  if (c == NULL) return;
  ath_lru_clear(c);
  ath_free(c->buckets);
  ath_free(c);
}
