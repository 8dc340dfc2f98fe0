"""confluent-kafka's AdminClient managing SCRAM users, for tests/tests/e2e/sasl.rs.

Usage: scram_admin.py BOOTSTRAP SETTINGS_JSON set USER PASSWORD MECHANISM [ITERATIONS]
       scram_admin.py BOOTSTRAP SETTINGS_JSON delete USER MECHANISM
       scram_admin.py BOOTSTRAP SETTINGS_JSON describe [USER...]

Prints one JSON line: for set/delete {"USER": null | "ERROR"}; for
describe {"USER": [[MECHANISM, ITERATIONS], ...] | "ERROR"}.
"""

import json
import sys

from confluent_kafka.admin import (
    AdminClient,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialDeletion,
    UserScramCredentialUpsertion,
)


def main():
    bootstrap, settings, op = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
    admin = AdminClient({"bootstrap.servers": bootstrap, **settings})
    out = {}
    if op in ("set", "delete"):
        user = sys.argv[4]
        if op == "set":
            password, mech = sys.argv[5], ScramMechanism[sys.argv[6].replace("-", "_")]
            iterations = int(sys.argv[7]) if len(sys.argv) > 7 else 8192
            change = UserScramCredentialUpsertion(
                user, ScramCredentialInfo(mech, iterations), password.encode()
            )
        else:
            change = UserScramCredentialDeletion(user, ScramMechanism[sys.argv[5].replace("-", "_")])
        for name, f in admin.alter_user_scram_credentials([change]).items():
            try:
                f.result(15)
                out[name] = None
            except Exception as e:  # the test reads the error's text
                out[name] = str(e.args[0].name() if e.args and hasattr(e.args[0], "name") else e)
    else:
        users = sys.argv[4:] or None
        try:
            result = admin.describe_user_scram_credentials(users)
            futures = result.items() if isinstance(result, dict) else [(None, result)]
            for name, f in futures:
                try:
                    got = f.result(15)
                    descs = got.items() if isinstance(got, dict) else [(name, got)]
                    for u, d in descs:
                        out[u] = [[i.mechanism.name, i.iterations] for i in d.scram_credential_infos]
                except Exception as e:
                    out[name] = str(e.args[0].name() if e.args and hasattr(e.args[0], "name") else e)
        except Exception as e:
            out["*"] = str(e)
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
