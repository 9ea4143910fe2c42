namespace ChatPortal.E2E;

/// <summary>What the fixtures share.</summary>
internal static class FixtureParts
{
    /// <summary>Disposes what a fixture started, in the order given, passing over what never started.</summary>
    public static async Task DisposeAsync(params IAsyncDisposable?[] parts)
    {
        foreach (var part in parts)
        {
            if (part is not null)
            {
                await part.DisposeAsync();
            }
        }
    }
}
