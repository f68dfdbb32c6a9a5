#!/usr/bin/env python3
"""Tests of calibrated.py's fit of the time outside the handler (run by
testbed/smoke.sh): on a synthetic calibration whose client latencies are
the logged ones plus a lognormal of a known sigma, the fit finds that
sigma; when the client saw the logged latencies plus a constant, it
writes a constant wait; without the run's files, a constant and says so.
And the Redis level the service's configuration fixes."""
import json, math, os, random, re, subprocess, sys, tempfile, tomllib, unittest

HERE = os.path.dirname(os.path.abspath(__file__))
FITTED = """name = "synthetic"
[simulation]
duration = "60s"
[[workload]]
name = "w"
arrival = { process = "poisson", rate_per_s = 50 }
[endpoint.read]
cpu = "1ms"
"""


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def calibration(d, outside_sigma, outside_mean=0.001, host=0.0005, n=4000, files=True):
    """A calibration directory: logged latencies lognormal around 3 ms; the
    client's quantiles from logged + host + outside (lognormal, sigma)."""
    rng = random.Random(7)
    logged = [math.exp(rng.gauss(math.log(0.003), 0.3)) for _ in range(n)]
    mu = math.log(outside_mean) - outside_sigma ** 2 / 2
    client = sorted(l + host + math.exp(rng.gauss(mu, outside_sigma)) for l in logged for _ in range(5))
    q = lambda p: client[min(len(client) - 1, int(p * len(client)))]
    write(f"{d}/fitted.toml", FITTED)
    write(f"{d}/capacity.json", json.dumps({
        "host_cpu_per_request_s": host, "core_cpu_per_request_s": 0.0015, "logged_cpu_per_request_s": 0.001,
        "client_latency_mean_s": sum(client) / len(client), "log_latency_mean_s": sum(logged) / n,
        "outside_handler_s": outside_mean}))
    if files:
        os.makedirs(f"{d}/run")
        write(f"{d}/run/start", "1000.0")
        with open(f"{d}/run/access.csv", "w") as f:
            f.write("ts,tenant,tier,endpoint,status,reason,latency_s\n")
            for i, l in enumerate(logged):
                f.write(f"{1010.0 + i * 0.01:.3f},t,free,read,200,ok,{l:.6f}\n")
        write(f"{d}/run/client.json", json.dumps({"latency_p50_s": q(0.5), "latency_p95_s": q(0.95), "latency_p99_s": q(0.99)}))


def calibrated(d):
    return subprocess.run([sys.executable, f"{HERE}/calibrated.py", f"{d}/fitted.toml", f"{d}/capacity.json", "1", "1"],
                          check=True, capture_output=True, text=True).stdout


class OutsideShape(unittest.TestCase):
    def test_finds_a_known_sigma(self):
        for sigma in (0.8, 1.5):
            with tempfile.TemporaryDirectory() as d:
                calibration(d, sigma)
                out = calibrated(d)
                found = float(re.search(r"lognormal, sigma ([0-9.]+)", out)[1])
                self.assertLessEqual(abs(found - sigma), 0.2, out)
                cv = float(re.search(r'name = "outside-handler"\nwait = \{ dist = "lognormal", mean = "1000.0us", cv = ([0-9.]+) \}', out)[1])
                self.assertAlmostEqual(cv, math.sqrt(math.exp(found ** 2) - 1), places=3)

    def test_a_constant_outside_time_stays_constant(self):
        with tempfile.TemporaryDirectory() as d:
            calibration(d, 0.0)
            self.assertIn('name = "outside-handler"\nwait = "1000.0us"', calibrated(d))

    def test_without_the_run_files_it_says_constant_is_assumed(self):
        with tempfile.TemporaryDirectory() as d:
            calibration(d, 1.0, files=False)
            out = calibrated(d)
            self.assertIn("ASSUMED constant: the calibration run's files are missing", out)
            self.assertIn('wait = "1000.0us"', out)


class RedisLevel(unittest.TestCase):
    """refsvc reads Redis after its L1: a calibrated scenario with an L1
    and no fitted L2 gets one, with the configured TTL; one the fit gave
    an L2 keeps its own; one without caches gets none."""

    def calibrated_with(self, extra, *args):
        with tempfile.TemporaryDirectory() as d:
            calibration(d, 0.0, files=False)
            write(f"{d}/fitted.toml", FITTED + extra)
            return subprocess.run([sys.executable, f"{HERE}/calibrated.py", f"{d}/fitted.toml", f"{d}/capacity.json", "1", "1", *args],
                                  check=True, capture_output=True, text=True).stdout

    def test_an_l1_without_a_fitted_l2_gets_redis(self):
        out = self.calibrated_with('[cache.l1]\ncapacity = 1000\n', "120s")
        self.assertEqual(tomllib.loads(out)["cache"]["l2"], {"ttl": "120s"})
        self.assertEqual(tomllib.loads(self.calibrated_with('[cache.l1]\ncapacity = 1000\n'))["cache"]["l2"], {"ttl": "300s"})

    def test_a_fitted_l2_is_kept_and_no_cache_gets_none(self):
        out = self.calibrated_with('[cache.l1]\ncapacity = 1000\n[cache.l2]\nlatency = "1ms"\n')
        self.assertEqual(tomllib.loads(out)["cache"]["l2"], {"latency": "1ms"})
        self.assertNotIn("cache", tomllib.loads(self.calibrated_with("")))


if __name__ == "__main__":
    unittest.main()
