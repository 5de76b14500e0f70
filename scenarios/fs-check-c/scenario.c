/* fs-check-c: file I/O in C through the fs probe. Timed 4 KiB writes with
 * and without fsync into the scratch directory, reads that must return what
 * was written, an append, a CSV dump of the figures, and escapes from the
 * scratch directory (`..`, an absolute path, a symlink pointing out) that
 * the host must deny. */

#include <stdio.h>
#include <string.h>

#include "rigor.h"

static void describe(rigor_info *info) {
    rigor_describe(info, "fs-check-c",
                   "Timed file writes with and without fsync, read-back, a CSV dump, and denied escapes, in C");
    rigor_describe_param(info, "ops", "200", "timed 4 KiB writes without fsync (and reads)");
    rigor_describe_param(info, "fsync-ops", "50", "timed 4 KiB writes with fsync");
}

#define BLOCK 4096

/* Whether `err` is the host's refusal. */
static bool denied(bool ok, const rigor_error *err) { return !ok && err->kind == RIGOR_DENIED; }

static bool run(const rigor_params *params, rigor_error *err) {
    uint64_t ops, fsync_ops;
    if (!rigor_param_u64(params, "ops", &ops, err)) return false;
    if (!rigor_param_u64(params, "fsync-ops", &fsync_ops, err)) return false;
    if (ops < 1) return rigor_fail(err, RIGOR_INVALID, "`ops` must be at least 1");

    rigor_dir dir;
    if (!rigor_dir_scratch(&dir, err)) return false;
    rigor_histogram write = rigor_histogram_latency("write.4k");
    rigor_histogram write_fsync = rigor_histogram_latency("write.4k.fsync");
    rigor_histogram read = rigor_histogram_latency("read.4k");
    static uint8_t block[BLOCK];
    char path[64];

    /* Each file gets its own content, so a read of the wrong file shows. */
    for (uint64_t i = 0; i < ops; i++) {
        memset(block, 'a' + (int)(i % 26), sizeof block);
        snprintf(path, sizeof path, "data/%llu.bin", (unsigned long long)i);
        if (i == 0 && !rigor_dir_mkdir(dir, "data", err)) return false;
        if (!rigor_dir_write(dir, path, block, sizeof block, false, &write, NULL, err)) return false;
    }
    for (uint64_t i = 0; i < fsync_ops; i++) {
        snprintf(path, sizeof path, "synced/%llu.bin", (unsigned long long)i);
        if (i == 0 && !rigor_dir_mkdir(dir, "synced", err)) return false;
        if (!rigor_dir_write(dir, path, block, sizeof block, true, &write_fsync, NULL, err)) return false;
    }
    uint64_t wrong = 0;
    for (uint64_t i = 0; i < ops; i++) {
        memset(block, 'a' + (int)(i % 26), sizeof block);
        snprintf(path, sizeof path, "data/%llu.bin", (unsigned long long)i);
        rigor_bytes got;
        if (!rigor_dir_read(dir, path, &read, &got, err)) return false;
        if (got.len != sizeof block || memcmp(got.data, block, sizeof block) != 0) wrong++;
        rigor_bytes_free(&got);
    }
    rigor_check("reads return what was written", wrong == 0, "%llu of %llu reads differed",
                (unsigned long long)wrong, (unsigned long long)ops);

    /* An append extends the file. */
    const char line[] = "appended\n";
    bool appended = rigor_dir_write(dir, "log.txt", line, sizeof line - 1, false, NULL, NULL, err) &&
                    rigor_dir_append(dir, "log.txt", line, sizeof line - 1, false, NULL, NULL, err);
    rigor_bytes log;
    bool read_back = appended && rigor_dir_read(dir, "log.txt", NULL, &log, err);
    rigor_check("append extends the file", read_back && log.len == 2 * (sizeof line - 1),
                "%zu bytes after a write and an append of %zu", read_back ? log.len : 0, sizeof line - 1);
    if (read_back) rigor_bytes_free(&log);

    /* Escapes: the host resolves paths beneath the root, whatever the guest asks. */
    rigor_error refusal;
    rigor_bytes out;
    bool dotdot = denied(rigor_dir_read(dir, "../outside", NULL, &out, &refusal), &refusal);
    rigor_check("escape with .. is denied", dotdot, "%s: %s", rigor_error_kind_name(refusal.kind), refusal.message);
    bool absolute = denied(rigor_dir_write(dir, "/tmp/rigor-fs-check-c", "x", 1, false, NULL, NULL, &refusal), &refusal);
    rigor_check("absolute path is denied", absolute, "%s: %s", rigor_error_kind_name(refusal.kind), refusal.message);
    bool linked = rigor_dir_symlink(dir, "/etc", "etc-link", err);
    bool through_link = linked && denied(rigor_dir_read(dir, "etc-link/hostname", NULL, &out, &refusal), &refusal);
    rigor_check("symlink out of the root is denied", through_link, "%s: %s",
                rigor_error_kind_name(refusal.kind), refusal.message);

    /* The figures, dumped as CSV next to the data. */
    rigor_summary w = rigor_histogram_summary(write), s = rigor_histogram_summary(write_fsync),
                  r = rigor_histogram_summary(read);
    char cells[3][3][32];
    const char *rows[9];
    const char *names[3] = {"write.4k", "write.4k.fsync", "read.4k"};
    const rigor_summary *sums[3] = {&w, &s, &r};
    for (int i = 0; i < 3; i++) {
        snprintf(cells[i][0], sizeof cells[i][0], "%s", names[i]);
        snprintf(cells[i][1], sizeof cells[i][1], "%llu", (unsigned long long)sums[i]->count);
        snprintf(cells[i][2], sizeof cells[i][2], "%llu", (unsigned long long)sums[i]->p99);
        for (int j = 0; j < 3; j++) rows[i * 3 + j] = cells[i][j];
    }
    const char *columns[3] = {"metric", "count", "p99_ns"};
    rigor_histogram dump = rigor_histogram_latency("dump.csv");
    bool dumped = rigor_dir_dump(dir, "summary.csv", columns, 3, rows, 3, RIGOR_CSV, true, &dump, NULL, err);
    rigor_bytes csv;
    bool has_rows = dumped && rigor_dir_read(dir, "summary.csv", NULL, &csv, err);
    rigor_check("dump writes the figures as CSV", has_rows && strstr((const char *)csv.data, "write.4k.fsync,") != NULL,
                "%s", has_rows ? (const char *)csv.data : err->message);
    if (has_rows) rigor_bytes_free(&csv);

    if (fsync_ops > 0 && s.mean > 0 && w.mean > 0)
        rigor_gauge("fsync-cost-ratio", s.mean / w.mean, RIGOR_UNIT_NONE);
    if (!rigor_threshold("write.4k", "p(99) < 50ms", NULL, err)) return false;
    rigor_dir_close(&dir);
    return true;
}

RIGOR_SCENARIO(describe, run)
