#!/usr/bin/env bash
# Make sure the local RabbitMQ answers on 5672 and has the management plugin (nameko's
# test fixtures and our readiness checks use its HTTP API on 15672).
set -euo pipefail
if ! rabbitmq-diagnostics -q ping >/dev/null 2>&1; then
  echo "starting RabbitMQ..."
  rabbitmq-server -detached
  for _ in $(seq 1 60); do rabbitmq-diagnostics -q ping >/dev/null 2>&1 && break; sleep 1; done
fi
if ! rabbitmq-plugins list -e -m 2>/dev/null | grep -qx rabbitmq_management; then
  echo "enabling rabbitmq_management..."
  rabbitmq-plugins enable rabbitmq_management >/dev/null
fi
for _ in $(seq 1 60); do
  curl -sf -u guest:guest http://127.0.0.1:15672/api/overview >/dev/null && exit 0
  sleep 1
done
echo "RabbitMQ management API did not answer on :15672" >&2
exit 1
