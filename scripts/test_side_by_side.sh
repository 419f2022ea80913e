#!/usr/bin/env bash
# `make test`'s runner: the suites run side by side, each its own pytest process writing its own log; then every
# log is shown in full, and the run fails if any suite failed.
#
# Why side by side: the e2e tests spend most of their time waiting on the stacks they start (consumers, e-mails,
# restarts, Retry-After): one after the other, the suites kept the 2 cores well under half busy (513 CPU-s in a
# 748 s run). The e2e tests that start a platform of their own run apart from the ones sharing the session's one.
# Every suite keeps to its own RabbitMQ vhost, stores and ports (a slice of its own), so they do not meet.
#
# Usage: scripts/test_side_by_side.sh PYTHON
set -u
PY=${1:?usage: test_side_by_side.sh PYTHON}
LOGS=var/test-logs
# e2e modules that start their own platform (the longest ones); every other e2e module shares the session's.
OWN_PLATFORM=(tests/e2e/test_replicas_agree.py tests/e2e/test_resilience.py tests/e2e/test_job_resilience.py)

rm -rf "$LOGS" && mkdir -p "$LOGS"
names=()
suite() {  # suite NAME COMMAND...: start one suite in the background
  local name=$1; shift
  names+=("$name")
  ( "$@" > "$LOGS/$name.log" 2>&1; echo $? > "$LOGS/$name.rc" ) &
  echo "started $name (log: $LOGS/$name.log)"
}

ignore=()
for module in "${OWN_PLATFORM[@]}"; do ignore+=(--ignore "$module"); done
started=$SECONDS
# Each suite takes the ports it starts servers on from a slice of its own below Linux's usual ephemeral range
# (32768-60999), where no outgoing connection takes its local port (pupns_dev.processes.free_port).
suite unit-integration env PUPNS_TEST_PORTS=20000-23999 "$PY" -m pytest --durations=15 tests/unit tests/integration
suite e2e-own-platforms env PUPNS_TEST_NO_EVENTLET=1 PUPNS_TEST_PORTS=24000-27999 \
  "$PY" -m pytest --durations=15 "${OWN_PLATFORM[@]}"
suite e2e-shared-platform env PUPNS_TEST_NO_EVENTLET=1 PUPNS_TEST_PORTS=28000-31999 \
  "$PY" -m pytest --durations=15 "${ignore[@]}" tests/e2e
wait

failed=()
for name in "${names[@]}"; do
  echo "================================ $name ================================"
  cat "$LOGS/$name.log"
  [ "$(cat "$LOGS/$name.rc" 2>/dev/null)" = 0 ] || failed+=("$name")
done
echo "all suites done in $((SECONDS - started)) s"
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED: ${failed[*]}"
  exit 1
fi
