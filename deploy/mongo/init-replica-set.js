// One-shot replica-set initiation for docker-compose (service `mongo-init`, run with mongosh against mongo1).
// Idempotent: when rs0 already exists it only waits for a primary. Exits non-zero when no primary appears.
const members = [
  { _id: 0, host: "mongo1:27017", priority: 2 },
  { _id: 1, host: "mongo2:27017", priority: 1 },
  { _id: 2, host: "mongo3:27017", priority: 1 },
];

function initiated() {
  try {
    rs.status();
    return true;
  } catch (err) {
    if (err.codeName === "NotYetInitialized" || err.code === 94) return false;
    throw err;
  }
}

if (!initiated()) {
  print("rs0: initiating " + members.map((m) => m.host).join(", "));
  rs.initiate({ _id: "rs0", members: members });
} else {
  print("rs0: already initiated");
}

for (let i = 0; i < 120; i++) {
  const hello = db.adminCommand({ hello: 1 });
  if (hello.primary) {
    print("rs0: primary is " + hello.primary);
    quit(0);
  }
  sleep(1000);
}
print("rs0: no primary after 120 s");
quit(1);
