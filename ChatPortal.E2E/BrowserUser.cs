using ChatPortal.Testing;

namespace ChatPortal.E2E;

public static class BrowserUser
{
    /// <summary>
    /// The user of a browser context as an HTTP API client: the context's cookies (its identity) in a cookie jar,
    /// so answers can be started without a page per conversation.
    /// </summary>
    public static async Task<ChatUser> AsApiUserAsync(this IBrowserContext context)
    {
        var user = new ChatUser();
        foreach (var cookie in await context.CookiesAsync())
        {
            user.Cookies.Add(new System.Net.Cookie(cookie.Name, cookie.Value, cookie.Path, cookie.Domain));
        }

        return user;
    }
}
