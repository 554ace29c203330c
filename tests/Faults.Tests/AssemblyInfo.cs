// Every test here starts runner processes and a redis-server and measures leases against real time on a
// small machine: run them one after another.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
