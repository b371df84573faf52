/* test_pgwire.c — the PostgreSQL wire codec (csrc/driver/pgw.c) on recorded
 * exchanges: the frontend's messages byte for byte, a whole session of server
 * messages fed in pieces, each authentication method (SCRAM with RFC 7677's
 * test vector), errors mapped to kinds, and truncated or malformed server
 * messages (a clear error, never a read past the body). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include "driver/pgw.h"

/* A server message in wire form: type, length word, body. */
static size_t wire(char *out, char type, const char *body, size_t n) {
  uint32_t len = (uint32_t)n + 4;
  out[0] = type;
  out[1] = (char)(len >> 24); out[2] = (char)(len >> 16); out[3] = (char)(len >> 8); out[4] = (char)len;
  memcpy(out + 5, body, n);
  return n + 5;
}

static pgw_msg msg(char type, const char *body, size_t n) {
  pgw_msg m = { type, body, n };
  return m;
}

static void expect_phrase(const ath_error *err, const char *phrase) {
  if (strstr(err->message, phrase) == NULL) fail_msg("'%s' not in '%s'", phrase, err->message);
}

/* ------------------------------------------------------------ frontend */

static void test_pgwire_startup_bytes(void **state) {
  (void)state;
  ath_buf b = ATH_BUF_INIT;
  const char *k[] = { "user", "database" }, *v[] = { "bob", "db" };
  assert_int_equal(pgw_put_startup(&b, k, v, 2), 0);
  static const char want[] = "\0\0\0\x1e\0\x03\0\0user\0bob\0database\0db\0\0";
  assert_int_equal(b.len, sizeof want - 1);
  assert_memory_equal(b.data, want, sizeof want - 1);
  ath_buf_free(&b);
}

static void test_pgwire_extended_query_bytes(void **state) {
  (void)state;
  ath_buf b = ATH_BUF_INIT;
  uint32_t oids[1] = { 23 };
  pgw_put_parse(&b, "s1", "SELECT $1", 9, 1, oids);
  static const char parse[] = "P\0\0\0\x17s1\0SELECT $1\0\0\x01\0\0\0\x17";
  assert_int_equal(b.len, sizeof parse - 1);
  assert_memory_equal(b.data, parse, sizeof parse - 1);
  ath_buf_reset(&b);
  const char *vals[2] = { "42", NULL };
  int lens[2] = { 2, 0 }, fmts[2] = { 0, 0 };
  pgw_put_bind(&b, "", "s1", 2, vals, lens, fmts);
  static const char bind[] = "B\0\0\0\x18\0s1\0\0\0\0\x02\0\0\0\x02" "42\xff\xff\xff\xff\0\0";
  assert_int_equal(b.len, sizeof bind - 1);
  assert_memory_equal(b.data, bind, sizeof bind - 1);
  ath_buf_reset(&b);
  int bin[1] = { 1 };
  const char *blob[1] = { "\0x" };
  int blen[1] = { 2 };
  pgw_put_bind(&b, "", "", 1, blob, blen, bin);   /* a binary parameter: one format code each */
  static const char bindb[] = "B\0\0\0\x14\0\0\0\x01\0\x01\0\x01\0\0\0\x02\0x\0\0";
  assert_int_equal(b.len, sizeof bindb - 1);
  assert_memory_equal(b.data, bindb, sizeof bindb - 1);
  ath_buf_reset(&b);
  pgw_put_execute(&b, "", 0);
  pgw_put_sync(&b);
  pgw_put_describe(&b, 'S', "s1");
  static const char tail[] = "E\0\0\0\x09\0\0\0\0\0S\0\0\0\x04" "D\0\0\0\x08Ss1\0";
  assert_int_equal(b.len, sizeof tail - 1);
  assert_memory_equal(b.data, tail, sizeof tail - 1);
  ath_buf_free(&b);
}

static void test_pgwire_cleartext_and_md5_passwords(void **state) {
  (void)state;
  ath_buf b = ATH_BUF_INIT;
  pgw_put_password(&b, "secret");
  assert_memory_equal(b.data, "p\0\0\0\x0bsecret\0", 12);
  ath_buf_reset(&b);
  const unsigned char salt[4] = { 1, 2, 3, 4 };
  pgw_put_md5_password(&b, "postgres", "dev", salt);
  /* "md5" + md5hex(md5hex("dev" "postgres") + salt), computed independently */
  static const char want[] = "p\0\0\0\x28md5ea75a339a02e0246ed118c24513729ff";
  assert_int_equal(b.len, sizeof want);                    /* + the NUL */
  assert_memory_equal(b.data, want, sizeof want);
  ath_buf_free(&b);
}

/* ------------------------------------------------------------ SCRAM */

static const char *RFC_SERVER_FIRST =
  "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";

static void test_pgwire_scram_rfc7677_vector(void **state) {
  (void)state;
  pgw_scram s;
  ath_buf out = ATH_BUF_INIT;
  ath_error err;
  assert_int_equal(pgw_scram_start(&s, "user", "pencil", "rOprNGfwEbeRWgbNEkqO", &out, &err), ATH_OK);
  assert_string_equal(out.data, "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
  ath_buf_reset(&out);
  assert_int_equal(pgw_scram_continue(&s, RFC_SERVER_FIRST, strlen(RFC_SERVER_FIRST), &out, &err), ATH_OK);
  assert_string_equal(out.data, "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
                                "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
  const char *final = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";
  assert_int_equal(pgw_scram_finish(&s, final, strlen(final), &err), ATH_OK);
  pgw_scram_free(&s);
  ath_buf_free(&out);
}

static void test_pgwire_scram_refuses_a_wrong_server(void **state) {
  (void)state;
  pgw_scram s;
  ath_buf out = ATH_BUF_INIT;
  ath_error err;
  /* a server signature that is not the one the password gives */
  pgw_scram_start(&s, "user", "pencil", "rOprNGfwEbeRWgbNEkqO", &out, &err);
  pgw_scram_continue(&s, RFC_SERVER_FIRST, strlen(RFC_SERVER_FIRST), &out, &err);
  const char *forged = "v=AAAATRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";
  assert_int_equal(pgw_scram_finish(&s, forged, strlen(forged), &err), ATH_E_OPERATIONAL);
  expect_phrase(&err, "signature is wrong");
  pgw_scram_free(&s);
  /* a nonce that does not extend ours */
  ath_buf_reset(&out);
  pgw_scram_start(&s, "", "pencil", "abc", &out, &err);
  const char *other = "r=xyzdef,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
  assert_int_equal(pgw_scram_continue(&s, other, strlen(other), &out, &err), ATH_E_OPERATIONAL);
  expect_phrase(&err, "nonce");
  pgw_scram_free(&s);
  /* malformed server-first messages: no crash, a clear error */
  const char *bad[] = { "", "r=abc", "r=abcd,s=!!!!,i=1", "r=abcd,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=x",
                        "r=abcd,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=0", "r=abcd,s=,i=5", "s=a,i=2,r" };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    ath_buf_reset(&out);
    pgw_scram_start(&s, "", "pencil", "abc", &out, &err);
    assert_int_equal(pgw_scram_continue(&s, bad[i], strlen(bad[i]), &out, &err), ATH_E_OPERATIONAL);
    expect_phrase(&err, "SCRAM-SHA-256 authentication failed");
    pgw_scram_free(&s);
  }
  /* the server's own error in the final message */
  ath_buf_reset(&out);
  pgw_scram_start(&s, "user", "pencil", "rOprNGfwEbeRWgbNEkqO", &out, &err);
  pgw_scram_continue(&s, RFC_SERVER_FIRST, strlen(RFC_SERVER_FIRST), &out, &err);
  assert_int_equal(pgw_scram_finish(&s, "e=invalid-proof", 15, &err), ATH_E_OPERATIONAL);
  expect_phrase(&err, "invalid-proof");
  pgw_scram_free(&s);
  /* out of order */
  memset(&s, 0, sizeof s);
  assert_int_equal(pgw_scram_finish(&s, "v=x", 3, &err), ATH_E_OPERATIONAL);
  ath_buf_free(&out);
}

/* ------------------------------------------------------------ a session */

/* The server's side of: connect (trust), then Parse/Describe/Sync and
 * Bind/Execute/Sync of "SELECT id, name FROM t WHERE id > $1" returning two
 * rows, one with a NULL name. */
static size_t recorded_session(char *buf) {
  size_t n = 0;
  n += wire(buf + n, 'R', "\0\0\0\0", 4);                                     /* AuthenticationOk */
  n += wire(buf + n, 'S', "server_version\0" "15.8\0", 20);
  n += wire(buf + n, 'S', "client_encoding\0UTF8\0", 21);
  n += wire(buf + n, 'K', "\0\0\x30\x39\x01\x02\x03\x04", 8);                 /* pid 12345 */
  n += wire(buf + n, 'Z', "I", 1);
  n += wire(buf + n, '1', "", 0);                                             /* ParseComplete */
  n += wire(buf + n, 't', "\0\x01\0\0\0\x17", 6);                             /* one int4 */
  static const char rowdesc[] =
    "\0\x02" "id\0" "\0\0\x40\0" "\0\x01" "\0\0\0\x17" "\0\x04" "\xff\xff\xff\xff" "\0\0"
    "name\0" "\0\0\x40\0" "\0\x02" "\0\0\0\x19" "\xff\xff" "\xff\xff\xff\xff" "\0\0";
  n += wire(buf + n, 'T', rowdesc, sizeof rowdesc - 1);
  n += wire(buf + n, 'Z', "I", 1);
  n += wire(buf + n, '2', "", 0);                                             /* BindComplete */
  n += wire(buf + n, 'D', "\0\x02\0\0\0\x01" "7\0\0\0\x03" "ann", 14);
  n += wire(buf + n, 'D', "\0\x02\0\0\0\x01" "9\xff\xff\xff\xff", 11);
  n += wire(buf + n, 'N', "SNOTICE\0C00000\0Mjust saying\0\0", 29);
  n += wire(buf + n, 'C', "SELECT 2\0", 9);
  n += wire(buf + n, 'Z', "T", 1);
  return n;
}

/* Frame data in pieces of at most `piece` bytes, as a socket would deliver
 * them, and check every message of the session. */
static void walk_session(size_t piece) {
  char data[512];
  size_t total = recorded_session(data);
  char have[512];
  size_t nhave = 0, fed = 0;
  int count = 0, rows = 0;
  char types[32];
  ath_error err;
  while (fed < total || nhave > 0) {
    pgw_msg m;
    size_t used;
    ath_status st = pgw_frame(have, nhave, &m, &used, &err);
    if (st == ATH_DONE) {
      assert_true(used > nhave);                             /* says how much it needs */
      assert_true(fed < total);
      size_t take = total - fed < piece ? total - fed : piece;
      memcpy(have + nhave, data + fed, take);
      nhave += take; fed += take;
      continue;
    }
    assert_int_equal(st, ATH_ROW);
    types[count++] = m.type;
    switch (m.type) {
      case 'R': { int32_t code; const char *d; size_t dn;
        assert_int_equal(pgw_read_auth(&m, &code, &d, &dn, &err), ATH_OK); assert_int_equal(code, 0); break; }
      case 'S': { const char *k, *v;
        assert_int_equal(pgw_read_parameter_status(&m, &k, &v, &err), ATH_OK);
        assert_true(!strcmp(k, "server_version") ? !strcmp(v, "15.8") : !strcmp(v, "UTF8")); break; }
      case 'K': { uint32_t pid, key;
        assert_int_equal(pgw_read_backend_key(&m, &pid, &key, &err), ATH_OK);
        assert_int_equal(pid, 12345); assert_int_equal(key, 0x01020304); break; }
      case 'Z': { char s; assert_int_equal(pgw_read_ready(&m, &s, &err), ATH_OK);
        assert_true(s == (count == 15 ? 'T' : 'I')); break; }
      case 't': { uint32_t *oids; int n;
        assert_int_equal(pgw_read_parameter_description(&m, &oids, &n, &err), ATH_OK);
        assert_int_equal(n, 1); assert_int_equal(oids[0], 23); ath_free(oids); break; }
      case 'T': { pgw_column *cols; int n;
        assert_int_equal(pgw_read_row_description(&m, &cols, &n, &err), ATH_OK);
        assert_int_equal(n, 2);
        assert_string_equal(cols[0].name, "id"); assert_int_equal(cols[0].type_oid, 23);
        assert_string_equal(cols[1].name, "name"); assert_int_equal(cols[1].type_oid, 25);
        ath_free(cols); break; }
      case 'D': { const char *vals[2]; int32_t lens[2];
        assert_int_equal(pgw_read_data_row(&m, 2, vals, lens, &err), ATH_OK);
        if (rows++ == 0) { assert_memory_equal(vals[0], "7", 1); assert_int_equal(lens[1], 3);
                           assert_memory_equal(vals[1], "ann", 3); }
        else { assert_memory_equal(vals[0], "9", 1); assert_int_equal(lens[1], -1); assert_null(vals[1]); }
        break; }
      case 'N': { pgw_fields f;
        assert_int_equal(pgw_read_fields(&m, &f, &err), ATH_OK);
        assert_string_equal(f.severity, "NOTICE"); assert_string_equal(f.message, "just saying"); break; }
      case 'C': { const char *tag; int64_t r;
        assert_int_equal(pgw_read_command_complete(&m, &tag, &r, &err), ATH_OK);
        assert_string_equal(tag, "SELECT 2"); assert_int_equal(r, 2); break; }
      default: assert_true(m.len == 0); break;                /* '1', '2' */
    }
    memmove(have, have + used, nhave - used);
    nhave -= used;
  }
  assert_int_equal(count, 15);
  assert_memory_equal(types, "RSSKZ1tTZ2DDNCZ", 15);
  assert_int_equal(rows, 2);
}

static void test_pgwire_session_whole_and_byte_by_byte(void **state) {
  (void)state;
  walk_session(4096);
  walk_session(1);
  walk_session(7);
}

static void test_pgwire_command_complete_rowcounts(void **state) {
  (void)state;
  struct { const char *tag; int64_t rows; } cases[] = {
    { "INSERT 0 5", 5 }, { "UPDATE 12", 12 }, { "DELETE 0", 0 }, { "SELECT 100000", 100000 },
    { "MERGE 3", 3 }, { "COPY 4", 4 }, { "CREATE TABLE", 0 }, { "BEGIN", 0 }, { "", 0 } };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    pgw_msg m = msg('C', cases[i].tag, strlen(cases[i].tag) + 1);
    const char *tag; int64_t r; ath_error err;
    assert_int_equal(pgw_read_command_complete(&m, &tag, &r, &err), ATH_OK);
    assert_int_equal(r, cases[i].rows);
  }
}

/* ------------------------------------------------------------ errors */

static void test_pgwire_errors_map_to_the_libpq_kinds(void **state) {
  (void)state;
  static const char unique[] =
    "SERROR\0VERROR\0C23505\0Mduplicate key value violates unique constraint \"t_pkey\"\0"
    "DKey (id)=(1) already exists.\0st\0nt_pkey\0\0";
  pgw_msg m = msg('E', unique, sizeof unique - 1);
  pgw_fields f;
  ath_error err;
  assert_int_equal(pgw_read_fields(&m, &f, &err), ATH_OK);
  assert_int_equal(pgw_error_from_fields(&f, &err), ATH_E_INTEGRITY);
  assert_string_equal(err.sqlstate, "23505");
  assert_string_equal(err.constraint, "t_pkey");
  assert_string_equal(err.message, "duplicate key value violates unique constraint \"t_pkey\" DETAIL: Key (id)=(1) already exists.");
  assert_int_equal(err.disconnect, 0);
  struct { const char *state; ath_status kind; int gone; } cases[] = {
    { "42601", ATH_E_PROGRAMMING, 0 }, { "42P01", ATH_E_PROGRAMMING, 0 }, { "22012", ATH_E_DATA, 0 },
    { "57014", ATH_E_OPERATIONAL, 0 }, { "40001", ATH_E_OPERATIONAL, 0 }, { "40P01", ATH_E_OPERATIONAL, 0 },
    { "25P02", ATH_E_OPERATIONAL, 0 }, { "53300", ATH_E_OPERATIONAL, 0 }, { "55P03", ATH_E_OPERATIONAL, 0 },
    { "08006", ATH_E_OPERATIONAL, 1 }, { "57P01", ATH_E_OPERATIONAL, 1 }, { "0A000", ATH_E_DBAPI, 0 },
    { "XX000", ATH_E_DBAPI, 0 }, { "P0001", ATH_E_DBAPI, 0 } };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    int gone;
    assert_int_equal(pgw_sqlstate_kind(cases[i].state, &gone), cases[i].kind);
    assert_int_equal(gone, cases[i].gone);
  }
  /* a FATAL error ends the session whatever its code */
  static const char fatal[] = "SFATAL\0VFATAL\0C25P03\0Mterminating connection due to idle-in-transaction timeout\0\0";
  m = msg('E', fatal, sizeof fatal - 1);
  assert_int_equal(pgw_read_fields(&m, &f, &err), ATH_OK);
  assert_int_equal(pgw_error_from_fields(&f, &err), ATH_E_OPERATIONAL);
  assert_int_equal(err.disconnect, 1);
  assert_string_equal(err.sqlstate, "25P03");
  /* no message at all, or an empty one, still reads as an error with a message */
  m = msg('E', "\0", 1);
  assert_int_equal(pgw_read_fields(&m, &f, &err), ATH_OK);
  assert_int_equal(pgw_error_from_fields(&f, &err), ATH_E_DBAPI);
  expect_phrase(&err, "without a message");
  m = msg('E', "C23505\0M\0\0", 10);                 /* found by fuzz_pgwire */
  assert_int_equal(pgw_read_fields(&m, &f, &err), ATH_OK);
  assert_int_equal(pgw_error_from_fields(&f, &err), ATH_E_INTEGRITY);
  expect_phrase(&err, "without a message");
}

/* ------------------------------------------------------------ malformed input */

static void test_pgwire_frame_refuses_bad_lengths(void **state) {
  (void)state;
  pgw_msg m; size_t used; ath_error err;
  assert_int_equal(pgw_frame("Z\0\0\0\x03I", 6, &m, &used, &err), ATH_E_OPERATIONAL);
  expect_phrase(&err, "protocol violation");
  assert_int_equal(err.disconnect, 1);
  assert_int_equal(pgw_frame("D\x7f\xff\xff\xff", 5, &m, &used, &err), ATH_E_OPERATIONAL);
  assert_int_equal(pgw_frame("Z\0\0", 3, &m, &used, &err), ATH_DONE);
  assert_int_equal(used, 5);
  assert_int_equal(pgw_frame("Z\0\0\0\x05", 5, &m, &used, &err), ATH_DONE);
  assert_int_equal(used, 6);
}

static void test_pgwire_malformed_messages_give_clear_errors(void **state) {
  (void)state;
  ath_error err;
  pgw_fields f;
  pgw_msg m = msg('E', "SERROR\0Mno end", 14);              /* no terminating NUL */
  assert_int_equal(pgw_read_fields(&m, &f, &err), ATH_E_OPERATIONAL);
  expect_phrase(&err, "malformed ErrorResponse");
  m = msg('E', "SERROR\0", 7);                              /* no final zero byte */
  assert_int_equal(pgw_read_fields(&m, &f, &err), ATH_E_OPERATIONAL);
  pgw_column *cols; int n;
  m = msg('T', "\0\x05" "id\0", 5);                          /* claims 5 columns */
  assert_int_equal(pgw_read_row_description(&m, &cols, &n, &err), ATH_E_OPERATIONAL);
  expect_phrase(&err, "RowDescription");
  static const char rd_trailing[] = "\0\x01" "id\0" "\0\0\0\0" "\0\0" "\0\0\0\x17" "\0\x04" "\0\0\0\0" "\0\0" "junk";
  m = msg('T', rd_trailing, sizeof rd_trailing - 1);
  assert_int_equal(pgw_read_row_description(&m, &cols, &n, &err), ATH_E_OPERATIONAL);
  static const char rd_noname[] = "\0\x01" "idxxxxxxxxxxxxxxxxxxxxx";   /* the name never ends */
  m = msg('T', rd_noname, sizeof rd_noname - 1);
  assert_int_equal(pgw_read_row_description(&m, &cols, &n, &err), ATH_E_OPERATIONAL);
  const char *vals[2]; int32_t lens[2];
  m = msg('D', "\0\x01\0\0\0\x09" "abc", 9);                 /* value longer than the body */
  assert_int_equal(pgw_read_data_row(&m, 1, vals, lens, &err), ATH_E_OPERATIONAL);
  expect_phrase(&err, "DataRow");
  m = msg('D', "\0\x02\0\0\0\x01" "a", 7);                   /* two columns announced, one sent */
  assert_int_equal(pgw_read_data_row(&m, 2, vals, lens, &err), ATH_E_OPERATIONAL);
  m = msg('D', "\0\x01\0\0\0\x01" "a", 7);                   /* one column for a two-column result */
  assert_int_equal(pgw_read_data_row(&m, 2, vals, lens, &err), ATH_E_OPERATIONAL);
  expect_phrase(&err, "does not match");
  m = msg('D', "\0", 1);
  int count;
  assert_int_equal(pgw_data_row_count(&m, &count, &err), ATH_E_OPERATIONAL);
  uint32_t *oids;
  m = msg('t', "\0\x02\0\0\0\x17", 6);                       /* two parameters, one OID */
  assert_int_equal(pgw_read_parameter_description(&m, &oids, &n, &err), ATH_E_OPERATIONAL);
  uint32_t pid, key;
  m = msg('K', "\0\0\0\x01", 4);
  assert_int_equal(pgw_read_backend_key(&m, &pid, &key, &err), ATH_E_OPERATIONAL);
  char st;
  m = msg('Z', "X", 1);
  assert_int_equal(pgw_read_ready(&m, &st, &err), ATH_E_OPERATIONAL);
  m = msg('Z', "", 0);
  assert_int_equal(pgw_read_ready(&m, &st, &err), ATH_E_OPERATIONAL);
  const char *tag; int64_t r;
  m = msg('C', "SELECT 1", 8);                               /* no NUL */
  assert_int_equal(pgw_read_command_complete(&m, &tag, &r, &err), ATH_E_OPERATIONAL);
  const char *k, *v;
  m = msg('S', "name\0value", 10);
  assert_int_equal(pgw_read_parameter_status(&m, &k, &v, &err), ATH_E_OPERATIONAL);
  int32_t code; const char *d; size_t dn;
  m = msg('R', "\0\0", 2);
  assert_int_equal(pgw_read_auth(&m, &code, &d, &dn, &err), ATH_E_OPERATIONAL);
  m = msg('R', "\0\0\0\x05\x01\x02", 6);                      /* MD5 with a 2-byte salt */
  assert_int_equal(pgw_read_auth(&m, &code, &d, &dn, &err), ATH_E_OPERATIONAL);
  assert_true(pgw_sasl_offers("SCRAM-SHA-256-PLUS\0SCRAM-SHA-256\0\0", 34, "SCRAM-SHA-256"));
  assert_false(pgw_sasl_offers("SCRAM-SHA-256-PLUS\0\0", 20, "SCRAM-SHA-256"));
  assert_false(pgw_sasl_offers("SCRAM-SHA-2", 11, "SCRAM-SHA-256"));   /* unterminated */
}

/* Every prefix of every message of the session, read by its reader: an
 * error or a value, never a read past the (exactly sized, heap) body. */
static void test_pgwire_every_truncation_is_safe(void **state) {
  (void)state;
  char data[512];
  size_t total = recorded_session(data), at = 0;
  while (at < total) {
    pgw_msg full; size_t used; ath_error err;
    assert_int_equal(pgw_frame(data + at, total - at, &full, &used, &err), ATH_ROW);
    for (size_t cut = 0; cut <= full.len; cut++) {
      char *body = ath_malloc(cut ? cut : 1);
      memcpy(body, full.body, cut);
      pgw_msg m = msg(full.type, body, cut);
      pgw_fields f; pgw_column *cols; uint32_t *oids; int n; int32_t code; const char *d; size_t dn;
      const char *vals[2]; int32_t lens[2]; char st; const char *tag; int64_t r; uint32_t a, b;
      switch (m.type) {
        case 'N': pgw_read_fields(&m, &f, &err); break;
        case 'T': if (pgw_read_row_description(&m, &cols, &n, &err) == ATH_OK) ath_free(cols); break;
        case 't': if (pgw_read_parameter_description(&m, &oids, &n, &err) == ATH_OK) ath_free(oids); break;
        case 'R': pgw_read_auth(&m, &code, &d, &dn, &err); break;
        case 'D': pgw_read_data_row(&m, 2, vals, lens, &err); break;
        case 'Z': pgw_read_ready(&m, &st, &err); break;
        case 'C': pgw_read_command_complete(&m, &tag, &r, &err); break;
        case 'K': pgw_read_backend_key(&m, &a, &b, &err); break;
        case 'S': pgw_read_parameter_status(&m, &d, &d, &err); break;
        default: break;
      }
      ath_free(body);
    }
    at += used;
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_pgwire_startup_bytes),
    cmocka_unit_test(test_pgwire_extended_query_bytes),
    cmocka_unit_test(test_pgwire_cleartext_and_md5_passwords),
    cmocka_unit_test(test_pgwire_scram_rfc7677_vector),
    cmocka_unit_test(test_pgwire_scram_refuses_a_wrong_server),
    cmocka_unit_test(test_pgwire_session_whole_and_byte_by_byte),
    cmocka_unit_test(test_pgwire_command_complete_rowcounts),
    cmocka_unit_test(test_pgwire_errors_map_to_the_libpq_kinds),
    cmocka_unit_test(test_pgwire_frame_refuses_bad_lengths),
    cmocka_unit_test(test_pgwire_malformed_messages_give_clear_errors),
    cmocka_unit_test(test_pgwire_every_truncation_is_safe),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
