/*
 * zipio.h - zip archives in memory and on disk; the only module that speaks
 * minizip (zlib's contrib minizip 1.1, Debian libminizip-dev).
 *
 * Backups travel as a sequence of zip "batches" built in memory by the
 * client and opened from memory by the server; `--batch restore --zip FILE`
 * writes one archive to disk.  Every entry is written the Info-ZIP way so
 * that `unzip` restores it faithfully: version made by Unix, the Unix mode
 * and type in the external attributes (mode << 16), the mtime both as DOS
 * time (local time, clamped to 1980..2107) and as the extended timestamp
 * extra field 0x5455 (UTC, exact, so 1970-era times survive), UTF-8 flag
 * (general purpose bit 11) set with names kept as raw bytes, symlinks as
 * entries whose data is the link target, directories as names ending in '/'.
 * Zip64 is used for entries announced at >= ~3.75 GiB and, by minizip, for
 * offsets and archives past 4 GiB.
 *
 * The reader returns names exactly as stored: checking them (pathsafe) is
 * the caller's job, but an embedded NUL is reported (name_len != strlen).
 * It enforces the caller's bounds before a byte is inflated (declared size,
 * ratio, entry count, entries that overlap or run past the end), refuses a
 * local header that disagrees with the central directory
 * (zipio_local_check), and checks each entry's length and CRC-32 when its
 * data has been read.  It refuses
 * entries with zip64 sizes (ABK_E_ZIP): Debian's minizip 1.1 misreads them on
 * 64-bit hosts.  Batches never need zip64 (entries are chunks of a few MiB);
 * big --zip archives are for Info-ZIP and other unzip tools.
 *
 * Errors: functions return ABK_OK (0) or a negative abk_code, with the cause
 * in *err (may be NULL):
 *   ABK_E_USAGE     wrong call order or argument (e.g. level 10, empty name)
 *   ABK_E_IO        read/write/open failure (errno text), a file that shrank
 *   ABK_E_NOMEM     out of memory
 *   ABK_E_ZIP       not a zip, corrupt or truncated structure, encrypted
 *                   entry, method other than store/deflate, overlapping data,
 *                   zip64 entry, local header or data descriptor that
 *                   disagrees with the central directory (reader)
 *   ABK_E_INTEGRITY CRC mismatch, corrupt deflate data, data shorter than
 *                   declared
 *   ABK_E_LIMIT     a zipio_limits bound was crossed
 *   ABK_E_INTERNAL  minizip rejected a call it should have accepted
 * A writer or reader that failed stays failed: every later call returns the
 * same code (a writer can be revived with zipio_writer_reset).
 *
 * Thread-safety: a writer or reader belongs to one thread at a time;
 * different ones may be used concurrently (minizip keeps no global state).
 */
#ifndef ABK_ZIPIO_H
#define ABK_ZIPIO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "abkerr.h"

#define ZIPIO_NAME_MAX 65535	/* bytes in an entry name (16-bit field) */
#define ZIPIO_SAMPLE_MAX 65536	/* bytes zipio_should_store looks at */
#define ZIPIO_TRIAL_MAX 16384	/* of which it deflates at most this many */
/* zipio_add_file reads ranges up to this size completely before writing. */
#define ZIPIO_PREREAD_MAX (16u << 20)
/* Entries announced at this size or more get zip64 headers. */
#define ZIPIO_ZIP64_THRESHOLD 0xF0000000ull

typedef struct zipio_writer zipio_writer;
typedef struct zipio_reader zipio_reader;

/* ---- writing ------------------------------------------------------------ */

/* A writer building an archive in a growable memory buffer. */
int zipio_writer_new(zipio_writer **out, abk_err *err);

/*
 * A writer building an archive in the file at path (created or truncated,
 * mode 0666 & ~umask, O_NOFOLLOW).  On failure the partial file is left for
 * the caller to remove.
 */
int zipio_writer_open_file(const char *path, zipio_writer **out, abk_err *err);

/* Free a writer and everything it owns (the memory archive included).
 * An unfinished file archive is closed without a central directory. NULL ok. */
void zipio_writer_free(zipio_writer *w);

/*
 * Add a regular file entry holding len bytes of fd starting at offset
 * (pread; fd's file offset is untouched), so that a large file can travel as
 * several chunks.  mode: permission bits (07777); mtime: seconds since the
 * epoch; level: 0 store, 1..9 deflate.  *crc_out (may be NULL) gets the
 * CRC-32 of the data.  A range up to ZIPIO_PREREAD_MAX, or any stored range
 * of a memory writer (read straight into the archive), is read completely
 * first: if the file turns out shorter, ABK_E_IO is returned and nothing is
 * added (the writer stays usable).  A larger range is streamed; a short read
 * then leaves the writer failed.
 */
int zipio_add_file(zipio_writer *w, const char *name, int fd, uint64_t offset,
    uint64_t len, uint32_t mode, int64_t mtime, int level, uint32_t *crc_out,
    abk_err *err);

/* Add a regular file entry from memory (same meaning as zipio_add_file). */
int zipio_add_buffer(zipio_writer *w, const char *name, const void *data,
    size_t len, uint32_t mode, int64_t mtime, int level, uint32_t *crc_out,
    abk_err *err);

/* Add a symlink: stored entry whose data is target (strlen bytes, no NUL),
 * external attributes (S_IFLNK | mode) << 16; mode 0 means 0777. */
int zipio_add_symlink(zipio_writer *w, const char *name, const char *target,
    uint32_t mode, int64_t mtime, abk_err *err);

/* Add a directory: name gets a trailing '/' if it has none, S_IFDIR. */
int zipio_add_dir(zipio_writer *w, const char *name, uint32_t mode,
    int64_t mtime, abk_err *err);

/*
 * Streaming form of a regular file entry, for data that arrives in pieces:
 * begin, any number of writes, end.  size_hint is the expected total (it
 * decides zip64; UINT64_MAX when unknown).  Writing past
 * ZIPIO_ZIP64_THRESHOLD in an entry announced smaller fails the writer.
 */
int zipio_begin_file(zipio_writer *w, const char *name, uint32_t mode,
    int64_t mtime, int level, uint64_t size_hint, abk_err *err);
int zipio_write(zipio_writer *w, const void *data, size_t len, abk_err *err);
int zipio_end_file(zipio_writer *w, uint32_t *crc_out, abk_err *err);

/* Bytes the archive would have if finished now: exact between entries
 * (76 bytes over at exactly 65535 entries, see zipio.c), smaller than the
 * result while an entry is open (zlib and minizip buffer some data). */
uint64_t zipio_writer_size(const zipio_writer *w);

/* Entries added since creation or the last reset. */
uint64_t zipio_writer_entries(const zipio_writer *w);

/*
 * Write the central directory and close the archive.  Memory writer: *data
 * and *len describe the archive, owned by the writer and valid until the
 * next reset or free.  File writer: the file is complete and fsync'ed,
 * *data is NULL and *len its size.  data and len may be NULL.
 */
int zipio_writer_finish(zipio_writer *w, const uint8_t **data, size_t *len,
    abk_err *err);

/*
 * The finished memory archive of zipio_writer_finish, writable: the sender
 * borrows the bytes in front of each frame's payload for its header
 * (proto_send_split).  NULL for a file writer or before finishing.
 */
uint8_t *zipio_writer_archive(zipio_writer *w);

/*
 * Start a new, empty archive in the same writer (memory writers only),
 * keeping the buffer's capacity; also clears a failed state.  Anything not
 * finished is discarded.
 */
int zipio_writer_reset(zipio_writer *w, abk_err *err);

/*
 * 1 if data like this is better stored than deflated: by name for formats
 * that are already compressed (jpg, png, mp4, zip, gz, xz, zst, docx, ...,
 * case-insensitive extension), otherwise from sample, the file's first bytes
 * (up to ZIPIO_SAMPLE_MAX are looked at): a sample of 8 KiB or more using at
 * most 128 distinct byte values (text) deflates; else a trial deflate at
 * level 1 of ZIPIO_TRIAL_MAX bytes taken from its four quarters decides,
 * storing when it saves less than 10%.  An empty sample stores.  PDF is left to the sample (its
 * streams are often, not always, compressed).  Pure and thread-safe; uses
 * about 100 KiB of stack and heap for the trial (~0.1-0.4 ms).
 */
int zipio_should_store(const char *name, const void *sample, size_t len);

/* 1 if name[0..len) is well-formed UTF-8: entries get the UTF-8 flag then. */
int zipio_name_is_utf8(const char *name, size_t len);

/*
 * Find the central directory of an archive held in memory (the one this
 * module writes: no archive comment, no zip64 end record).  It lists every
 * entry's name, sizes and CRC-32, and the reader checks each entry's data
 * against it, so a digest of it stands for the whole archive at a fraction
 * of the cost of hashing every byte.  ABK_E_ZIP if it cannot be found or
 * does not lie inside the archive.
 */
int zipio_central_directory(const uint8_t *zip, size_t len, const uint8_t **cd,
    size_t *cdlen, abk_err *err);

/* ---- reading ------------------------------------------------------------ */

/*
 * What the central directory says about one entry: the fields its local
 * header repeats.  zipio_read.c fills it from minizip; the check below is
 * pure so that tests and fuzzers can call it on crafted bytes.
 */
struct zipio_central {
	const char *name;	/* name_len bytes, as stored */
	size_t name_len;
	uint16_t flags;		/* general purpose bits */
	uint16_t method;
	uint32_t crc;
	uint64_t csize, usize;
};

/* Bytes of the fixed local header and the most a data descriptor takes. */
#define ZIPIO_LOCAL_HDR 30
#define ZIPIO_DESCRIPTOR_MAX 24

/*
 * The one comparison of an entry's local header with the central directory,
 * used by every reader path (zipio_next): a zip whose two headers disagree
 * is refused, since tools that read the local headers (streaming unzips)
 * would see another archive than the one checked.  lh[0..lhlen) is the local
 * header: ZIPIO_LOCAL_HDR fixed bytes, then the name and the extra field.
 * Name, flags, method, CRC-32 and both sizes must be the central's: the
 * sizes as they are or, when both are 0xFFFFFFFF, in a zip64 extra field.
 * With flag bit 3 (sizes after the data) the local CRC and sizes may be 0
 * instead, and the data descriptor dd[0..ddlen) (the bytes right after the
 * data; ZIPIO_DESCRIPTOR_MAX are enough) must then match the central
 * values; *dd_used gets its length (0 without bit 3).
 * Returns ABK_OK, or ABK_E_ZIP with "zip entry NAME: local header ... "
 * naming the first field that differs and both values.  Pure, thread-safe.
 */
int zipio_local_check(const struct zipio_central *c, const uint8_t *lh, size_t lhlen,
    const uint8_t *dd, size_t ddlen, size_t *dd_used, abk_err *err);


/* Bounds checked before an entry's data is touched; 0 means no bound. */
struct zipio_limits {
	uint64_t max_entries;		/* entries in the archive */
	uint64_t max_entry_size;	/* declared uncompressed bytes */
	uint32_t max_ratio;		/* uncompressed / compressed */
	uint64_t ratio_min_size;	/* ratio checked only above this size */
};

enum zipio_type {
	ZIPIO_FILE = 0,
	ZIPIO_DIR,
	ZIPIO_SYMLINK,
	ZIPIO_OTHER,		/* fifo, device, socket: callers refuse it */
};

struct zipio_entry {
	const char *name;	/* NUL-terminated; owned by the reader, valid
				   until the next zipio_next or free */
	size_t name_len;	/* length in the header */
	int name_has_nul;	/* name_len != strlen(name): hostile */
	enum zipio_type type;	/* from Unix external attributes when made
				   by Unix, else trailing '/' = directory */
	uint32_t mode;		/* permission bits (07777) */
	int64_t mtime;		/* 0x5455 UTC if present, else DOS time */
	uint64_t size;		/* declared uncompressed bytes */
	uint64_t csize;		/* compressed bytes */
	uint32_t crc;		/* declared CRC-32 */
	int method;		/* 0 store, 8 deflate */
	int zip64;		/* zip64 extra field or 64-bit sizes */
	int utf8;		/* general purpose bit 11 */
	uint64_t index;		/* 0-based position in the archive */
};

/*
 * Open an archive held in memory; data must stay valid and unchanged until
 * zipio_reader_free.  limits may be NULL (no bounds).
 */
int zipio_reader_open(const void *data, size_t len,
    const struct zipio_limits *limits, zipio_reader **out, abk_err *err);

/* Same for an archive on disk. */
int zipio_reader_open_file(const char *path,
    const struct zipio_limits *limits, zipio_reader **out, abk_err *err);

void zipio_reader_free(zipio_reader *r);

/* Entries the archive declares. */
uint64_t zipio_reader_entries(const zipio_reader *r);

/*
 * Move to the next entry (the first on the first call) and describe it in
 * *e.  Returns 1 with an entry, 0 at the end, < 0 on error.  An entry that
 * was not read to the end is skipped unverified.
 */
int zipio_next(zipio_reader *r, struct zipio_entry *e, abk_err *err);

/*
 * Read up to len bytes of the current entry's data.  Returns the number of
 * bytes (> 0), 0 once the whole entry was delivered and its length and
 * CRC-32 verified, or < 0 (ABK_E_INTEGRITY on a bad CRC or short data).
 */
ssize_t zipio_read(zipio_reader *r, void *buf, size_t len, abk_err *err);

/*
 * The current entry's data in place, without copying: for a stored entry
 * of an archive held in memory that has not been read from yet.  *data
 * points into the caller's archive (valid as long as it is) and *len is the
 * entry's size.  The length and CRC-32 are verified first, over the data in
 * place, and the entry is then finished as if zipio_read had returned 0.
 * Returns 1 with the view; 0 when the entry does not qualify (deflated, an
 * archive on disk, partly read already): use zipio_read; < 0 on error
 * (ABK_E_INTEGRITY on a bad CRC).  minizip's stored-entry copy goes byte by
 * byte through two buffers, which made it the receiving thread's biggest
 * cost after the cipher.
 */
int zipio_view(zipio_reader *r, const uint8_t **data, size_t *len, abk_err *err);

/* Read the whole current entry (verified) into buf[cap]; ABK_E_LIMIT when
 * it does not fit.  *len_out gets its length. */
int zipio_read_all(zipio_reader *r, void *buf, size_t cap, size_t *len_out,
    abk_err *err);

#endif
