using System.Collections.Concurrent;

namespace ChatPortal.E2E;

/// <summary>
/// One test, one user: a fresh browser context (cookies, local storage) and page. Any script error on the
/// page fails the test.
/// </summary>
public abstract class BrowserTest(SingleNodeFixture fixture) : IAsyncLifetime
{
    private readonly ConcurrentQueue<string> _pageErrors = new();
    private IBrowserContext? _context;
    private IPage? _page;

    protected SingleNodeFixture Fixture => fixture;

    protected IPage Page => _page ?? throw new InvalidOperationException("Not initialised.");

    public async Task InitializeAsync()
    {
        _context = await fixture.Browser.NewContextAsync(new()
        {
            ViewportSize = new() { Width = 1280, Height = 800 },
            ColorScheme = ColorScheme.Light,
            Locale = "en-US",
        });
        _page = await _context.NewPageAsync();
        _page.PageError += (_, error) => _pageErrors.Enqueue($"page error: {error}");
        _page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                _pageErrors.Enqueue($"console error: {message.Text} at {message.Location}");
            }
        };
    }

    public async Task DisposeAsync()
    {
        var errors = _pageErrors.ToArray();
        if (_context is not null)
        {
            await _context.CloseAsync();
        }

        Assert.True(errors.Length == 0, "The page reported errors:\n" + string.Join('\n', errors));
    }

    protected ChatPage ChatOn(ChatPortal.Testing.NodeProcess node) => new(Page, node);
}
