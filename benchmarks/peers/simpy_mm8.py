"""M/M/8 FCFS queue in SimPy: one Resource(capacity=8), one generator process
per customer, one arrival generator. Prints one JSON line."""
import random
import time

import simpy

from mm8_common import LAMBDA, MU, SERVERS, parse_args, report


def customer(env, servers, rng, waits):
    arrived = env.now
    with servers.request() as req:
        yield req
        waits.append(env.now - arrived)  # FCFS: appended in arrival order
        yield env.timeout(rng.expovariate(MU))


def arrivals(env, n, servers, rng, waits):
    for _ in range(n):
        yield env.timeout(rng.expovariate(LAMBDA))
        env.process(customer(env, servers, rng, waits))


def main():
    args = parse_args()
    rng = random.Random(args.seed)
    waits = []
    start = time.perf_counter()
    env = simpy.Environment()
    servers = simpy.Resource(env, capacity=SERVERS)
    env.process(arrivals(env, args.customers, servers, rng, waits))
    env.run()
    wall = time.perf_counter() - start
    report("simpy", args.customers, wall, waits)


if __name__ == "__main__":
    main()
