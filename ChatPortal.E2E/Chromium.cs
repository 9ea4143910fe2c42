namespace ChatPortal.E2E;

/// <summary>A fixture that owns one Chromium for its tests.</summary>
public interface IBrowserFixture
{
    IBrowser Browser { get; }
}

/// <summary>
/// Debian's Chromium (/usr/bin/chromium) driven by Playwright: no downloaded browser, no sandbox (containers),
/// nothing in the background that talks to the network.
/// </summary>
public sealed class Chromium : IAsyncDisposable
{
    private static readonly string[] Args =
    [
        "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ];

    private readonly IPlaywright _playwright;

    private Chromium(IPlaywright playwright, IBrowser browser)
    {
        _playwright = playwright;
        Browser = browser;
    }

    public IBrowser Browser { get; }

    public static async Task<Chromium> LaunchAsync()
    {
        var playwright = await Playwright.CreateAsync();
        try
        {
            var browser = await playwright.Chromium.LaunchAsync(new()
            {
                ExecutablePath = "/usr/bin/chromium",
                Headless = true,
                Args = Args,
            });
            return new Chromium(playwright, browser);
        }
        catch
        {
            playwright.Dispose();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Browser.CloseAsync();
        _playwright.Dispose();
    }
}
