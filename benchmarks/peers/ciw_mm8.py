"""M/M/8 FCFS queue in Ciw, through its own network/simulation API.
Prints one JSON line."""
import time

import ciw

from mm8_common import LAMBDA, MU, SERVERS, parse_args, report


def main():
    args = parse_args()
    ciw.seed(args.seed)
    start = time.perf_counter()
    network = ciw.create_network(
        arrival_distributions=[ciw.dists.Exponential(rate=LAMBDA)],
        service_distributions=[ciw.dists.Exponential(rate=MU)],
        number_of_servers=[SERVERS],
    )
    sim = ciw.Simulation(network)
    sim.simulate_until_max_customers(args.customers, method="Complete")
    wall = time.perf_counter() - start
    records = sorted(sim.get_all_records(), key=lambda r: r.arrival_date)
    report("ciw", args.customers, wall, [r.waiting_time for r in records])


if __name__ == "__main__":
    main()
