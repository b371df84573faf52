/* ath_lru.h — a bounded least-recently-used map from byte strings to
 * pointers. get and put are O(1): a chained hash table for lookup plus a
 * doubly-linked recency list. Used for per-connection prepared statements
 * (keys are SQL texts). Not thread-safe: one owner at a time.
 * Owns: copies of the keys. Values belong to the caller; the evict callback
 * is how they are handed back when an entry leaves by eviction/clear/free. */
#ifndef ATH_LRU_H
#define ATH_LRU_H
#include <stddef.h>
#include <stdint.h>
#include "ath_error.h"

typedef struct ath_lru ath_lru;
/* Called when an entry leaves the cache by eviction, clear or free (not by ath_lru_remove). */
typedef void (*ath_lru_evict_fn)(void *ud, const char *key, size_t keylen, void *value);

/* 64-bit FNV-1a over n bytes. */
ATH_HIDDEN uint64_t ath_hash_bytes(const void *p, size_t n);

/* NULL on OOM. capacity 0 = caching disabled: put evicts the value at once. */
ATH_HIDDEN ath_lru *ath_lru_new(size_t capacity, ath_lru_evict_fn evict, void *ud);
/* NULL if absent; marks the entry most recently used. */
ATH_HIDDEN void *ath_lru_get(ath_lru *c, const char *key, size_t keylen);
/* Key copied; replaces (evicting the old value) if present; evicts the least
 * recently used entry when full. On OOM returns ATH_E_NOMEM and the caller
 * still owns value. */
ATH_HIDDEN ath_status ath_lru_put(ath_lru *c, const char *key, size_t keylen, void *value, ath_error *err);
/* Returns the value (the caller owns it now) without calling evict; NULL if absent. */
ATH_HIDDEN void *ath_lru_remove(ath_lru *c, const char *key, size_t keylen);
ATH_HIDDEN size_t ath_lru_count(const ath_lru *c);
/* Evicts everything. */
ATH_HIDDEN void ath_lru_clear(ath_lru *c);
/* clear + free; NULL ok. */
ATH_HIDDEN void ath_lru_free(ath_lru *c);

#endif
