/* workload.h: what one request asks of a server: a wait (of a kind), CPU work, a body size. */
#ifndef TVT_WORKLOAD_H
#define TVT_WORKLOAD_H

#include <stddef.h>
#include <stdint.h>

#define WAIT_US_MAX   60000000u  /* 60 s: longer is a typo, not a benchmark */
#define WORK_US_MAX   10000000u  /* 10 s of CPU per request */
#define BYTES_MAX     (1u << 20) /* 1 MiB: the 200 body comes from one static buffer */
#define BYTES_DEFAULT 64u

/* file_kib: O_DIRECT reads whole, aligned 4 KiB blocks, so a read is a multiple of 4 KiB. */
#define FILE_KIB_MIN     4u
#define FILE_KIB_MAX     1024u
#define FILE_KIB_DEFAULT 4u
#define FILE_KIB_RULE    "a multiple of 4 from 4 to 1024 (O_DIRECT reads whole 4 KiB blocks)"

/* state=shared: the CPU spent inside an update of the shared table, and its key. */
#define SHARE_US_MAX     1000000u /* 1 s inside one update */
#define SHARE_US_DEFAULT 2u
#define KEY_MAX          32u /* key=: 1..32 characters of [A-Za-z0-9_.-] */
#define KEY_DEFAULT      "-"

/* What a request waits on (query key io=, flag --io). */
enum io_kind {
    IO_TIMER, /* wait_us on a timer or a sleep */
    IO_NET,   /* a request to the backend (--upstream) that answers after wait_us */
    IO_FILE,  /* a read of file_kib KiB from the data file (--data-file); wait_us unused */
    IO__COUNT
};

/* What a request does to the state every connection shares (query key state=, flag --state). */
enum state_kind {
    STATE_NONE,   /* nothing */
    STATE_SHARED, /* one update of the process's shared table (shared.h), under key */
    STATE__COUNT
};

struct workload {
    uint32_t wait_us;      /* the wait: a timer's, or the backend's for io=net */
    uint32_t work_us;      /* CPU time the serving thread burns */
    uint32_t bytes;        /* body length of the answer */
    uint32_t io;           /* enum io_kind */
    uint32_t file_kib;     /* io=file: KiB read, FILE_KIB_RULE */
    uint32_t state;        /* enum state_kind */
    uint32_t share_us;     /* state=shared: CPU inside the update, <= SHARE_US_MAX */
    char key[KEY_MAX + 1]; /* state=shared: the table's key, NUL-terminated */
};

/* The workload of a request when neither a flag nor its query says otherwise: no wait, no
 * work, a BYTES_DEFAULT-byte body, io=timer, no shared state. An initializer:
 * struct workload w = WORKLOAD_DEFAULTS; */
#define WORKLOAD_DEFAULTS                                                                          \
    {                                                                                              \
        .wait_us = 0, .work_us = 0, .bytes = BYTES_DEFAULT, .io = IO_TIMER,                        \
        .file_kib = FILE_KIB_DEFAULT, .state = STATE_NONE, .share_us = SHARE_US_DEFAULT,           \
        .key = KEY_DEFAULT                                                                         \
    }

/* The names of the io kinds and of the state kinds, by value, NULL-terminated (for an opts
 * table's OPT_CHOICE row: the flag takes the words a query takes). */
extern const char *const WORKLOAD_IO_NAMES[IO__COUNT + 1];
extern const char *const WORKLOAD_STATE_NAMES[STATE__COUNT + 1];

/* Parses a decimal integer of len bytes in [0, max] into *out.
 * 0 ok; -1 empty, not a number, or out of range. */
int workload_parse_u32(const char *s, size_t len, uint32_t max, uint32_t *out);

/* The name of an io kind ("timer", "net", "file"); "?" for a bad value. Static storage. */
const char *workload_io_name(uint32_t io);

/* Parses an io kind name of len bytes into *out. 0 ok; -1 unknown. */
int workload_parse_io(const char *s, size_t len, uint32_t *out);

/* 1 when kib is a valid file_kib (FILE_KIB_RULE), else 0. */
int workload_file_kib_ok(uint32_t kib);

/* The name of a state kind ("none", "shared"); "?" for a bad value. Static storage. */
const char *workload_state_name(uint32_t state);

/* Parses a state kind name of len bytes into *out. 0 ok; -1 unknown. */
int workload_parse_state(const char *s, size_t len, uint32_t *out);

/* 1 when s[0..len) is a valid key: 1..KEY_MAX characters of [A-Za-z0-9_.-], else 0. */
int workload_key_ok(const char *s, size_t len);

/* Applies a query string (without '?', not NUL-terminated), e.g.
 * "wait_us=2000&bytes=64&io=net", over the values already in *w. Keys:
 * wait_us, work_us, bytes, io (timer|net|file), file_kib, state (none|shared), share_us,
 * key. Unknown keys and
 * values are errors so that a typo cannot silently run the default; whether
 * the server can do an io kind is the server's check, not this one's.
 * 0 ok; -1 malformed, unknown or out of range, with a reason in err. */
int workload_parse_query(struct workload *w, const char *q, size_t len, char *err, size_t errlen);

/* Burns work_us of the calling thread's own CPU time (not wall time, so being
 * preempted does not shorten the work). Thread-safe. */
void workload_spin(uint32_t work_us);

#endif
