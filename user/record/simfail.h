/* SPDX-License-Identifier: MIT */
/*
 * Failure injection for tests (in the spirit of retsnoop's simfail): with
 * LEAKTRACE_SIMFAIL=SEED:PERMILLE in the environment, the consumer drops
 * ENTRY and RET records at random (each with probability PERMILLE/1000,
 * from a generator seeded with SEED) before the rebuild sees them, exactly
 * as if the ring buffer had been full: each one is counted in lost_events
 * and the rebuild is told of the loss. With LEAKTRACE_SIMFAIL_LOG=FILE,
 * one line per dropped record, "ENTRY|RET TID TS_NS", so that a test can
 * tell which executions a drop touched. Never set outside tests; record
 * says so on stderr when it is.
 */
#ifndef LT_SIMFAIL_H
#define LT_SIMFAIL_H

#include <stdbool.h>
#include <stddef.h>

/* reads the environment once; exits 2 on a malformed value */
void simfail_init(void);
/* true: drop this record (data, size: one ring-buffer record) */
bool simfail_drop(const void *data, size_t size);

#endif
