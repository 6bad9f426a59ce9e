#!/usr/bin/env bash
# Runs rawrt's memory-safety-sensitive unit tests under Miri: the task state machine
# (src/task_core), task-local scopes and `LocalSet` (src/task/task_local.rs, src/task/local.rs:
# runtime-free tests, driven by hand), the local run queue (src/scheduler/multi_thread/queue.rs), the sync primitives'
# unit tests (src/sync), `ReadBuf` and the I/O traits and utilities (src/io: their unit tests
# poll by hand, with no runtime) and the runtime-free tests of tests/sync.rs (oneshot, mpsc and Notify
# driven by hand with counting wakers).
#
# Usage: scripts/miri.sh [extra cargo-miri args...]
#
# Needs a nightly toolchain with the miri component
# (`rustup +nightly component add miri`). When `cargo +nightly miri` is not available the
# script says so and exits 0, so that it can sit in CI/check scripts on machines without it.
#
# Flags:
# - `-Zmiri-strict-provenance`: every pointer must carry provenance (no int-to-pointer casts).
#   The task code only casts between pointer types (`NonNull<Header>` <-> `Cell<F, S>`) and
#   the run queue packs integers, not pointers, so this must hold.
# - No `-Zmiri-disable-isolation`: nothing selected here needs the clock, the environment or
#   the file system.
#
# What is NOT run, and why:
# - Anything that builds a `Runtime` or a `reactor::Driver`: the reactor makes real epoll and
#   eventfd syscalls through rawrt-sys, which Miri's isolation (and its partial epoll support)
#   does not cover. That excludes src/reactor, src/scheduler (except queue.rs), src/net,
#   src/time and most of tests/sync.rs, whose tests run inside `block_on`.
# - The loom models (`--cfg loom` only; they are compiled out here).
# The two stress tests that are selected (a 20 000-task concurrent steal in queue.rs and the
# 2 000-round send/drop race in tests/sync.rs) shrink their loop counts under `cfg(miri)`.
set -euo pipefail

cd "$(dirname "$0")/.."

if ! cargo +nightly miri --version >/dev/null 2>&1; then
    echo "miri.sh: skipped: \`cargo +nightly miri\` is not available" >&2
    echo "miri.sh: (install it with \`rustup toolchain install nightly --component miri\`)" >&2
    exit 0
fi

export MIRIFLAGS="${MIRIFLAGS:-} -Zmiri-strict-provenance"
# Keep Miri's build apart from the normal one.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target/miri}"

# Unit tests, by module path (libtest accepts several filters; a test runs if any matches).
cargo +nightly miri test --lib "$@" -- \
    task_core:: \
    task::task_local:: \
    task::local:: \
    scheduler::multi_thread::queue:: \
    scheduler::coop:: \
    util:: \
    sync:: \
    io::read_buf:: \
    io::traits:: \
    io::util::

# tests/sync.rs: only the tests that need no runtime (they poll by hand). `--exact` so that a
# filter never matches a runtime test by prefix.
cargo +nightly miri test --test sync "$@" -- --exact \
    futures_are_send \
    oneshot_receiver_dropped_before_send_returns_value \
    oneshot_receiver_dropped_after_send_drops_value_once \
    oneshot_racing_send_and_drop_drops_each_value_once \
    oneshot_receiver_waker_is_replaced \
    mpsc_zero_capacity_panics \
    mpsc_cancelled_waiting_send_keeps_capacity_and_wakeups \
    mpsc_cancelled_granted_send_releases_its_permit \
    mpsc_waiting_senders_are_served_fifo \
    mpsc_error_types \
    notify_waiters_wakes_notified_created_before_it_even_unpolled \
    notify_dropping_selected_notified_passes_it_on \
    notify_dropped_waiter_does_not_swallow_notify_one
