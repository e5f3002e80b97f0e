"""Python jwcrypto as an independent JWE implementation for interop tests and benchmarks.

Run with Debian's /usr/bin/python3 (python3-jwcrypto):
  encrypt JWK_JSON HEADER_JSON   plaintext on stdin  -> compact JWE on stdout
  decrypt JWK_JSON               compact JWE on stdin -> plaintext on stdout
  time JWK_JSON JWE_FILE RUNS    -> JSON {"medianMs", "runs", "bytes"}: in-process decryption, perf_counter
"""
import json
import statistics
import sys
import time

from jwcrypto import jwe, jwk


def encrypt(key_json, header_json):
    token = jwe.JWE(sys.stdin.buffer.read(), protected=header_json)
    token.add_recipient(jwk.JWK.from_json(key_json))
    sys.stdout.write(token.serialize(compact=True))


def decrypt_compact(key, compact):
    token = jwe.JWE()
    token.deserialize(compact, key=key)
    return token.payload


def decrypt(key_json):
    sys.stdout.buffer.write(decrypt_compact(jwk.JWK.from_json(key_json), sys.stdin.read().strip()))


def time_decrypt(key_json, path, runs):
    key = jwk.JWK.from_json(key_json)
    with open(path, encoding="ascii") as f:
        compact = f.read()
    decrypt_compact(key, compact)  # warm-up, like the Node side
    times = []
    for _ in range(int(runs)):
        t0 = time.perf_counter()
        payload = decrypt_compact(key, compact)
        times.append((time.perf_counter() - t0) * 1000)
    print(json.dumps({"medianMs": statistics.median(times), "runs": len(times), "bytes": len(payload)}))


if __name__ == "__main__":
    commands = {"encrypt": encrypt, "decrypt": decrypt, "time": time_decrypt}
    commands[sys.argv[1]](*sys.argv[2:])
