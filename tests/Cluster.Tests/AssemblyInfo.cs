// Many tests here measure leases, heartbeats and retries against real time on a 2-core machine;
// run the classes one after another so one test's load cannot push another past its deadlines.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
