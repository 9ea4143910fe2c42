namespace ChatPortal.E2E;

/// <summary>
/// A test on the shared two-node cluster. Whatever it leaves behind is cleaned up after it: Redis is brought back
/// if it was killed, and answers still running are cancelled, so the next test starts on a quiet, whole cluster.
/// </summary>
[Collection(ClusterCollection.Name)]
public abstract class ClusterTest(ClusterFixture fixture) : BrowserTest<ClusterFixture>(fixture)
{
    public override async Task DisposeAsync()
    {
        try
        {
            await base.DisposeAsync();
        }
        finally
        {
            await Fixture.EnsureHealthyAsync();
            await Fixture.CancelAllAsync();
        }
    }
}
