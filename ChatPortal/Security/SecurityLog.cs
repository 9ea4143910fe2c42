namespace ChatPortal.Security;

/// <summary>Log messages of the web layer's security (event ids 3001-3099).</summary>
internal static partial class SecurityLog
{
    [LoggerMessage(3001, LogLevel.Warning, "Refused a cross-site {Method} {Path} from {Address}: Sec-Fetch-Site '{FetchSite}', Origin '{Origin}', this site '{Own}'.")]
    public static partial void CrossSiteRefused(ILogger logger, string method, string path, string? address, string? fetchSite, string? origin, string own);

    [LoggerMessage(3002, LogLevel.Warning, "Failed admin sign-in for user name '{UserName}' from {Address} ({Via}).")]
    public static partial void SignInFailed(ILogger logger, string userName, string? address, string via);

    [LoggerMessage(3003, LogLevel.Warning, "Admin sign-in for user name '{UserName}' from {Address} refused for {RetryAfterSeconds} s after repeated failures ({Via}).")]
    public static partial void SignInThrottled(ILogger logger, string userName, string? address, int retryAfterSeconds, string via);

    [LoggerMessage(3005, LogLevel.Information, "Too many messages from user {UserId} at {Address}: {Which} limit reached, retry in {RetryAfterSeconds} s.")]
    public static partial void MessagesLimited(ILogger logger, string userId, string? address, string which, int retryAfterSeconds);

    [LoggerMessage(3006, LogLevel.Debug, "Refused an unsafe {Method} {Path} without an identity cookie.")]
    public static partial void UnsafeWithoutIdentity(ILogger logger, string method, string path);
}
