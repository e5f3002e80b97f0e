"""Python jwcrypto as an independent JWE implementation for interop tests and benchmarks.

Run with Debian's /usr/bin/python3 (python3-jwcrypto):
  encrypt JWK_JSON HEADER_JSON   plaintext on stdin  -> compact JWE on stdout
  decrypt JWK_JSON               compact JWE on stdin -> plaintext on stdout
  time JWK_JSON JWE_FILE RUNS    -> JSON {"medianMs", "runs", "bytes"}: in-process decryption, perf_counter
  memory JWK_JSON JWE_FILE       -> JSON {"peakRssDeltaBytes", "bytes"}: peak RSS growth of one warm decryption (Linux)
  verify JWKS_JSON               compact JWS on stdin -> JSON {"header", "payload"}; fails unless it verifies
                                 with the key its kid names (ES384 or PS256 only)
"""
import gc
import json
import re
import statistics
import sys
import time

from jwcrypto import jwe, jwk, jws


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


def read_compact(path):
    with open(path, encoding="ascii") as f:
        return f.read()


def time_decrypt(key_json, path, runs):
    key = jwk.JWK.from_json(key_json)
    compact = read_compact(path)
    decrypt_compact(key, compact)  # warm-up, like the Node side
    times = []
    for _ in range(int(runs)):
        t0 = time.perf_counter()
        payload = decrypt_compact(key, compact)
        times.append((time.perf_counter() - t0) * 1000)
    print(json.dumps({"medianMs": statistics.median(times), "runs": len(times), "bytes": len(payload)}))


def status_bytes(field):
    with open("/proc/self/status", encoding="ascii") as f:
        return int(re.search(field + r":\s+(\d+)", f.read()).group(1)) * 1024


def memory(key_json, path):
    key = jwk.JWK.from_json(key_json)
    compact = read_compact(path)
    warm_up = jwe.JWE(bytes(64 * 1024), protected=json.dumps({"alg": key.alg, "enc": "A256GCM"}))
    warm_up.add_recipient(key)
    decrypt_compact(key, warm_up.serialize(compact=True))  # small, like the Node side
    gc.collect()
    base = status_bytes("VmRSS")
    with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
        f.write("5")  # resets VmHWM to the current RSS
    payload = decrypt_compact(key, compact)
    print(json.dumps({"peakRssDeltaBytes": status_bytes("VmHWM") - base, "bytes": len(payload)}))


def verify(jwks_json):
    token = jws.JWS()
    token.deserialize(sys.stdin.read().strip())
    header = token.jose_header
    key = jwk.JWKSet.from_json(jwks_json).get_key(header["kid"])
    if key is None:
        sys.exit("no key with kid " + header["kid"])
    token.allowed_algs = ["ES384", "PS256"]
    token.verify(key)
    print(json.dumps({"header": header, "payload": json.loads(token.payload)}))


if __name__ == "__main__":
    commands = {"encrypt": encrypt, "decrypt": decrypt, "time": time_decrypt, "memory": memory, "verify": verify}
    commands[sys.argv[1]](*sys.argv[2:])
