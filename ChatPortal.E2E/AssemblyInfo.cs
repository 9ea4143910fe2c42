// One browser and a few node processes on a 2-core machine: tests run one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
