using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using ChatPortal.Testing;

namespace ChatPortal.E2E;

/// <summary>
/// One test, one user: a fresh browser context (cookies, local storage) and page. More tabs of the same user
/// (<see cref="NewTabAsync"/>) and other users (<see cref="NewUserAsync"/>) are watched the same way: any script
/// error or console error on any of them fails the test.
/// </summary>
public abstract class BrowserTest<TFixture>(TFixture fixture) : IAsyncLifetime
    where TFixture : IBrowserFixture
{
    private readonly ConcurrentQueue<string> _pageErrors = new();
    private readonly ConcurrentQueue<Regex> _expectedConsoleErrors = new();
    private readonly List<IBrowserContext> _contexts = [];
    private IPage? _page;

    protected TFixture Fixture => fixture;

    /// <summary>The first tab of the test's user.</summary>
    protected IPage Page => _page ?? throw new InvalidOperationException("Not initialised.");

    public async Task InitializeAsync() => _page = await NewUserAsync("user");

    public virtual async Task DisposeAsync()
    {
        var errors = _pageErrors.ToArray();
        foreach (var context in _contexts)
        {
            await context.CloseAsync();
        }

        Assert.True(errors.Length == 0, "The page reported errors:\n" + string.Join('\n', errors));
    }

    /// <summary>
    /// Console errors matching <paramref name="pattern"/> are expected from now on (the connection lost when a test
    /// kills the page's node) and do not fail the test. Script errors always do.
    /// </summary>
    protected void ExpectConsoleErrors(Regex pattern) => _expectedConsoleErrors.Enqueue(pattern);

    /// <summary>Another user: a browser context of its own (its own identity cookie), with its first tab.</summary>
    protected async Task<IPage> NewUserAsync(string name)
    {
        var context = await fixture.Browser.NewContextAsync(new()
        {
            ViewportSize = new() { Width = 1280, Height = 800 },
            ColorScheme = ColorScheme.Light,
            Locale = "en-US",
        });
        _contexts.Add(context);
        return Watch(await context.NewPageAsync(), name);
    }

    /// <summary>Another tab of the same user as <paramref name="page"/> (the test's user by default): same cookies.</summary>
    protected async Task<IPage> NewTabAsync(string name, IPage? page = null) =>
        Watch(await (page ?? Page).Context.NewPageAsync(), name);

    protected ChatPage ChatOn(NodeProcess node) => new(Page, node);

    private IPage Watch(IPage page, string name)
    {
        page.PageError += (_, error) =>
        {
            if (!_expectedConsoleErrors.Any(pattern => pattern.IsMatch(error)))
            {
                _pageErrors.Enqueue($"[{name}] page error: {error}");
            }
        };
        page.Console += (_, message) =>
        {
            if (message.Type == "error" && !_expectedConsoleErrors.Any(pattern => pattern.IsMatch(message.Text)))
            {
                _pageErrors.Enqueue($"[{name}] console error: {message.Text} at {message.Location}");
            }
        };
        return page;
    }
}
