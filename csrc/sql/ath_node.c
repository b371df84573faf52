/* ath_node.c — node arena, the node kinds as data (ATH_NODE_KINDS), and the
 * structural cache key of a statement tree. */
#include "ath_sql.h"
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ arena */

typedef struct arena_chunk {
  struct arena_chunk *next;
  size_t used, cap;
  max_align_t data[];
} arena_chunk;

struct ath_arena {
  arena_chunk *head;
};

#define ARENA_CHUNK 8192

ath_arena *ath_arena_new(void) {
  return ath_calloc(1, sizeof(ath_arena));
}

void ath_arena_free(ath_arena *a) {
  if (!a) return;
  arena_chunk *c = a->head;
  while (c) {
    arena_chunk *next = c->next;
    ath_free(c);
    c = next;
  }
  ath_free(a);
}

void ath_arena_reset(ath_arena *a) {
  arena_chunk *c = a->head;
  if (!c) return;
  while (c->next) {                       /* keep only the oldest chunk */
    arena_chunk *next = c->next;
    ath_free(c);
    c = next;
  }
  c->used = 0;
  a->head = c;
}

void *ath_arena_alloc(ath_arena *a, size_t n) {
  n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
  arena_chunk *c = a->head;
  if (!c || c->cap - c->used < n) {
    size_t cap = n > ARENA_CHUNK ? n : ARENA_CHUNK;
    c = ath_malloc(sizeof(arena_chunk) + cap);
    if (!c) return NULL;
    c->used = 0;
    c->cap = cap;
    c->next = a->head;
    a->head = c;
  }
  void *p = (char *)c->data + c->used;
  c->used += n;
  return p;
}

ath_node *ath_node_new(ath_arena *a, int kind, int nkids) {
  ath_node *n = ath_arena_alloc(a, sizeof *n + (size_t)nkids * sizeof(ath_node *));
  if (!n) return NULL;
  memset(n, 0, sizeof *n);
  n->kind = kind;
  n->nkids = nkids;
  n->kids = (ath_node **)(n + 1);
  for (int i = 0; i < nkids; i++) n->kids[i] = NULL;
  return n;
}

/* ------------------------------------------------------------ node kinds */

#define SLOT_NAME(kind, slot) #slot,
#define SLOT_NAMES(NAME, fields, min, max, filled, SLOTS) \
  static const char *const NAME##_slots[ATH_##NAME##__N + 1] = { SLOTS(SLOT_NAME) NULL };
ATH_NODE_KINDS(SLOT_NAMES)
#define KIDS_SPAN(min, max) ((max) == ATH_ANY ? 0xffffffffu : (unsigned)((max) - (min)))
#define KIND_INFO(NAME, fields, min, max, filled, SLOTS) \
  [ATH_N_##NAME] = { #NAME, (fields), (min), (max), (filled), ATH_##NAME##__N, KIDS_SPAN(min, max), NAME##_slots },
const ath_kind_info ath_kinds[ATH_N__COUNT] = {
  [ATH_N__NONE] = { "(none)", 0, 0, 0, 0, 0, 0, NULL },
  ATH_NODE_KINDS(KIND_INFO)
};

/* -------------------------------------------------------------- cache key */

/* The key lists every node's kind, flags, strings and child count, depth
 * first. FROM elements (tables, aliases, CTEs) are usually referenced by many
 * columns: after the first time, a back-reference to their position stands
 * in for them, so the key also records which references are shared. */
#define KEY_MEMO 64

/* Deeper than any tree the converter builds: a hand-made tree (fuzzing)
 * deeper than this, or a cyclic one, is simply not cacheable. */
#define KEY_MAX_DEPTH 1000

typedef struct key_state {
  ath_buf *b;
  const ath_node *seen[KEY_MEMO];
  int nseen;
  int depth;
  int overflow;                 /* more FROM elements than KEY_MEMO, or too deep: not cacheable */
} key_state;

/* Writers into space reserved beforehand (one reserve per node). */
static unsigned char *put_varint(unsigned char *p, size_t v) {
  while (v >= 0x80) { *p++ = (unsigned char)(v | 0x80); v >>= 7; }
  *p++ = (unsigned char)v;
  return p;
}

static unsigned char *put_str(unsigned char *p, const char *s, size_t len) {
  if (!s) { *p++ = 0; return p; }
  p = put_varint(p, len + 1);
  memcpy(p, s, len);
  return p + len;
}

static void key_node(key_state *k, const ath_node *n) {
  ath_buf *b = k->b;
  if (k->overflow || b->oom) return;   /* no usable key; and a recursive CTE past the memo would loop */
  if (!n) { ath_buf_putc(b, 0); return; }
  if (n->share) {                      /* a shared subtree: its serial, and where its FROM elements are in seen */
    const ath_node_share *sh = n->share;
    if (ath_buf_reserve(b, 12 + (size_t)sh->nmemo * 10) != 0) return;
    unsigned char *start = (unsigned char *)b->data + b->len, *p = start;
    *p++ = 0xfe;
    p = put_varint(p, (size_t)sh->serial);
    for (int j = 0; j < sh->nmemo; j++) {
      int i = 0;
      while (i < k->nseen && k->seen[i] != sh->memo[j]) i++;
      if (i == k->nseen) {
        if (k->nseen == KEY_MEMO) { k->overflow = 1; return; }
        k->seen[k->nseen++] = sh->memo[j];
      }
      p = put_varint(p, (size_t)i);
    }
    b->len += (size_t)(p - start);
    b->data[b->len] = '\0';
    return;
  }
  if (n->kind == ATH_N_TABLE || n->kind == ATH_N_ALIAS || n->kind == ATH_N_CTE ||
      (n->kind == ATH_N_BIND && (n->flags & ATH_F_SHARED))) {
    for (int i = 0; i < k->nseen; i++) {
      if (k->seen[i] == n) {
        unsigned char tmp[12], *q = tmp;
        *q++ = 0xff;
        q = put_varint(q, (size_t)i);
        ath_buf_append(b, tmp, (size_t)(q - tmp));
        return;
      }
    }
    if (k->nseen < KEY_MEMO) k->seen[k->nseen++] = n;
    else { k->overflow = 1; return; }
  }
  if (n->nkids < 0 || (n->nkids > 0 && !n->kids) || k->depth >= KEY_MAX_DEPTH) { k->overflow = 1; return; }
  size_t l2 = n->s2 ? strlen(n->s2) : 0, l3 = n->s3 ? strlen(n->s3) : 0;
  if (ath_buf_reserve(b, 6 * 10 + n->slen + l2 + l3) != 0) return;
  unsigned char *start = (unsigned char *)b->data + b->len, *p = start;
  p = put_varint(p, (size_t)n->kind);
  p = put_varint(p, (size_t)n->flags);
  p = put_str(p, n->s, n->slen);
  p = put_str(p, n->s2, l2);
  p = put_str(p, n->s3, l3);
  p = put_varint(p, (size_t)n->nkids);
  b->len += (size_t)(p - start);
  b->data[b->len] = '\0';
  k->depth++;
  if (n->kind == ATH_N_COLUMN || n->kind == ATH_N_STAR) key_node(k, n->from);
  for (int i = 0; i < n->nkids; i++) key_node(k, n->kids[i]);
  k->depth--;
}

int ath_node_key(ath_buf *key, const ath_node *root, const ath_dialect *d) {
  key_state k;
  k.b = key;
  k.nseen = 0;
  k.depth = 0;
  k.overflow = 0;
  ath_buf_putc(key, (char)d->cache_tag);   /* one byte: the key is hashed and compared per statement */
  key_node(&k, root);
  return k.overflow || key->oom ? -1 : 0;
}
