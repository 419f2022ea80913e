// One-shot replica-set initiation and users for docker-compose (service `mongo-init`, run with mongosh inside
// mongo1's network namespace, so that it connects over localhost). mongod runs with --keyFile, i.e. with
// authentication: on a fresh set the localhost exception allows initiating it and creating the first user (root);
// after that this script logs in as root. Idempotent: an existing set is left as it is, existing users get the
// password and roles of the .env again. Exits non-zero when a password is missing or no primary appears.
const members = [
  { _id: 0, host: "mongo1:27017", priority: 2 },
  { _id: 1, host: "mongo2:27017", priority: 1 },
  { _id: 2, host: "mongo3:27017", priority: 1 },
];
// Least privilege (issue 11), as deploy/k8s/mongodb.yaml: each process kind reads and writes only its own
// database; the key store's user only pupns_keys; the operators' user is for the `pupns` CLI, never a process.
const USERS = [
  { user: "pupns-identity", env: "PUPNS_MONGO_IDENTITY_PASSWORD", roles: [{ role: "readWrite", db: "pupns_identity" }] },
  { user: "pupns-forms", env: "PUPNS_MONGO_FORMS_PASSWORD", roles: [{ role: "readWrite", db: "pupns_forms" }] },
  { user: "pupns-verification", env: "PUPNS_MONGO_VERIFICATION_PASSWORD",
    roles: [{ role: "readWrite", db: "pupns_verification" }] },
  { user: "pupns-documents", env: "PUPNS_MONGO_DOCUMENTS_PASSWORD", roles: [{ role: "readWrite", db: "pupns_documents" }] },
  { user: "pupns-notifications", env: "PUPNS_MONGO_NOTIFICATIONS_PASSWORD",
    roles: [{ role: "readWrite", db: "pupns_notifications" }] },
  { user: "pupns-edge", env: "PUPNS_MONGO_EDGE_PASSWORD", roles: [{ role: "readWrite", db: "pupns_edge" }] },
  { user: "pupns-keys", env: "PUPNS_MONGO_KEYS_PASSWORD", roles: [{ role: "readWrite", db: "pupns_keys" }] },
  { user: "pupns-operator", env: "PUPNS_MONGO_OPERATOR_PASSWORD",
    roles: [{ role: "readWriteAnyDatabase", db: "admin" }, { role: "dbAdminAnyDatabase", db: "admin" },
            { role: "clusterMonitor", db: "admin" }] },
];
const ROOT = { user: "pupns-root", env: "PUPNS_MONGO_ROOT_PASSWORD", roles: [{ role: "root", db: "admin" }] };

function secret(name) {
  const value = process.env[name];
  if (!value) {
    print("set " + name + " in .env");
    quit(2);
  }
  return value;
}

const admin = db.getSiblingDB("admin");

function loggedIn() {
  try {
    admin.auth(ROOT.user, secret(ROOT.env));
    return true;
  } catch (err) {
    return false; // no root user yet: a fresh set, under the localhost exception
  }
}

function initiated() {
  try {
    rs.status();
    return true;
  } catch (err) {
    if (err.codeName === "NotYetInitialized" || err.code === 94) return false;
    throw err;
  }
}

function waitForPrimary() {
  for (let i = 0; i < 120; i++) {
    if (db.hello().isWritablePrimary) return; // mongo1 has the highest priority: users are made on it
    sleep(1000);
  }
  print("rs0: mongo1 is not primary after 120 s");
  quit(1);
}

USERS.forEach((u) => secret(u.env)); // every password present before anything changes
let root = loggedIn();
if (!initiated()) {
  print("rs0: initiating " + members.map((m) => m.host).join(", "));
  rs.initiate({ _id: "rs0", members: members });
} else {
  print("rs0: already initiated");
}
waitForPrimary();
if (!root) {
  admin.createUser({ user: ROOT.user, pwd: secret(ROOT.env), roles: ROOT.roles });
  root = loggedIn();
  if (!root) {
    print("could not log in as " + ROOT.user);
    quit(1);
  }
}
USERS.forEach((u) => {
  if (admin.getUser(u.user)) {
    admin.updateUser(u.user, { pwd: secret(u.env), roles: u.roles });
  } else {
    admin.createUser({ user: u.user, pwd: secret(u.env), roles: u.roles });
  }
  print("user " + u.user + ": " + u.roles.map((r) => r.role + "@" + r.db).join(", "));
});
quit(0);
