// Initialise the fok-rs replica set and its users; safe to run again (docker-compose
// "mongo-init" job, and scripts/deploy-enterprise.sh on every deploy).
//
//   mongosh "mongodb://127.0.0.1:27017/admin?directConnection=true" --quiet --norc \
//     --file /opt/fok/mongo/init-replica-set.js
//
// It must reach mongo-1 on 127.0.0.1 (the job shares mongo-1's network namespace): on a fresh set
// no user exists yet, and MongoDB's localhost exception lets a loopback client initiate the set
// and create the first (root) user. Every later run authenticates as root instead.
//
// Environment: MONGO_ROOT_PASSWORD, MONGO_APP_PASSWORD, MONGO_EXPORTER_PASSWORD,
// MONGO_BACKUP_PASSWORD (required); MONGO_DATABASE (fok_bot), MONGO_MEMBERS
// (mongo-1:27017,mongo-2:27017,mongo-3:27017), MONGO_INIT_TIMEOUT_SECONDS (180).
//
// Users (all in the admin database; least privilege):
//   root          root                                  this script and operator emergencies
//   fok_bot       readWrite on MONGO_DATABASE           the bot, workers and admin_tools.py
//   fok_exporter  clusterMonitor, read on local         mongodb_exporter
//   fok_backup    backup                                mongodump
// A second run re-applies every password and role, so rotating a password is: change it in
// .env.prod, run this job again, restart the clients of that user.

const REPLICA_SET = "fok-rs";
const NOT_YET_INITIALIZED = 94;
const UNAUTHORIZED = 13;

function required(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} must be set (see .env.prod.example)`);
  }
  return value;
}

const rootUser = "root";
const rootPassword = required("MONGO_ROOT_PASSWORD");
const database = process.env.MONGO_DATABASE || "fok_bot";
const members = (process.env.MONGO_MEMBERS || "mongo-1:27017,mongo-2:27017,mongo-3:27017")
  .split(",")
  .map((member) => member.trim())
  .filter((member) => member.length > 0);
const timeoutMs = 1000 * Number(process.env.MONGO_INIT_TIMEOUT_SECONDS || "180");
const users = [
  { user: "fok_bot", password: required("MONGO_APP_PASSWORD"), roles: [{ role: "readWrite", db: database }] },
  {
    user: "fok_exporter",
    password: required("MONGO_EXPORTER_PASSWORD"),
    roles: [{ role: "clusterMonitor", db: "admin" }, { role: "read", db: "local" }],
  },
  { user: "fok_backup", password: required("MONGO_BACKUP_PASSWORD"), roles: [{ role: "backup", db: "admin" }] },
];

function log(message) {
  print(`[mongo-init] ${message}`);
}

// Run a command and give back {ok, code, result}; mongosh throws on a failed command.
function command(target, body) {
  try {
    const result = target.runCommand(body);
    return { ok: result.ok === 1, code: result.code, result };
  } catch (error) {
    return { ok: false, code: error.code, result: null, error };
  }
}

// Poll until check() is true; a wait on state, not a fixed sleep.
function waitFor(what, check) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    }
    sleep(500);
  }
}

function tryAuth(adminDb) {
  try {
    return adminDb.auth(rootUser, rootPassword).ok === 1;
  } catch (error) {
    return false;
  }
}

const local = db.getSiblingDB("admin");
const authenticated = tryAuth(local);
const status = command(local, { replSetGetStatus: 1 });

if (!status.ok && status.code === NOT_YET_INITIALIZED) {
  log(`initiating ${REPLICA_SET} with ${members.join(", ")}`);
  const config = {
    _id: REPLICA_SET,
    members: members.map((host, index) => ({ _id: index, host })),
  };
  const initiated = command(local, { replSetInitiate: config });
  if (!initiated.ok) {
    throw new Error(`replSetInitiate failed: ${initiated.error || JSON.stringify(initiated.result)}`);
  }
} else if (!status.ok && status.code === UNAUTHORIZED) {
  throw new Error(
    "users exist but root cannot log in: MONGO_ROOT_PASSWORD differs from the one the set was " +
      "initialised with (docs/operations.md, rotating secrets)",
  );
} else if (!status.ok) {
  throw new Error(`replSetGetStatus failed: ${status.error || JSON.stringify(status.result)}`);
} else {
  log(`${REPLICA_SET} already initiated`);
}

if (!authenticated) {
  // First run: the localhost exception holds until the first user exists, and only on the
  // primary can that user be written. The member that initiated the set is elected first.
  waitFor("mongo-1 to become primary", () => local.hello().isWritablePrimary === true);
  log("creating the root user (localhost exception)");
  local.createUser({ user: rootUser, pwd: rootPassword, roles: [{ role: "root", db: "admin" }] });
}

// From here on, talk to whichever member is primary, as root.
const set = new Mongo(`mongodb://${members.join(",")}/?replicaSet=${REPLICA_SET}`);
const admin = set.getDB("admin");
if (admin.auth(rootUser, rootPassword).ok !== 1) {
  throw new Error("cannot authenticate as root through the replica set");
}

waitFor("every member to be PRIMARY or SECONDARY", () => {
  const current = command(admin, { replSetGetStatus: 1 });
  return (
    current.ok &&
    current.result.members.length === members.length &&
    current.result.members.every((member) => member.state === 1 || member.state === 2)
  );
});

for (const spec of users) {
  const roles = spec.roles;
  if (admin.getUser(spec.user) === null) {
    log(`creating user ${spec.user}`);
    admin.createUser({ user: spec.user, pwd: spec.password, roles });
  } else {
    log(`updating user ${spec.user} (password and roles)`);
    admin.updateUser(spec.user, { pwd: spec.password, roles });
  }
}

const concern = command(admin, {
  setDefaultRWConcern: 1,
  defaultWriteConcern: { w: "majority", wtimeout: 10000 },
});
if (!concern.ok) {
  throw new Error(`setDefaultRWConcern failed: ${concern.error || JSON.stringify(concern.result)}`);
}

const final = command(admin, { replSetGetStatus: 1 }).result;
log(final.members.map((member) => `${member.name} ${member.stateStr}`).join(", "));
log("ready: users fok_bot, fok_exporter, fok_backup; default write concern w:majority");
