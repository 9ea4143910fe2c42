using ChatPortal.Core.Tasks;

namespace ChatPortal.Core.Coordination;

/// <summary>
/// A coordinator that needs to see every chunk. Only the benchmark's polling baseline implements it: the
/// product's coordinators do nothing per chunk, and the engine skips this call when none is registered.
/// </summary>
public interface IChunkObserver
{
    ValueTask OnChunkAsync(GenerationTask task);
}
