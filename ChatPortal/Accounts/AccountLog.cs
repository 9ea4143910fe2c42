namespace ChatPortal.Accounts;

/// <summary>Accounts: event ids 3100-3199.</summary>
internal static partial class AccountLog
{
    [LoggerMessage(3100, LogLevel.Warning, "No ChatPortal:Admin:Password is set: no admin account is created, and nobody can open /admin until an admin grants the role.")]
    public static partial void NoAdminPassword(ILogger logger);

    [LoggerMessage(3101, LogLevel.Information, "Created the admin account {UserName} from ChatPortal:Admin.")]
    public static partial void AdminCreated(ILogger logger, string userName);

    [LoggerMessage(3102, LogLevel.Information, "Set the admin account {UserName}'s password from ChatPortal:Admin.")]
    public static partial void AdminPasswordSet(ILogger logger, string userName);

    [LoggerMessage(3103, LogLevel.Information, "Account {UserName} signed up (user {UserId}).")]
    public static partial void SignedUp(ILogger logger, string userName, string userId);

    [LoggerMessage(3104, LogLevel.Information, "Moved {Count} conversations of anonymous user {From} to account {UserName}.")]
    public static partial void ConversationsMoved(ILogger logger, int count, string from, string userName);

    [LoggerMessage(3105, LogLevel.Warning, "Account {UserName} is locked out after wrong passwords (from {Address}).")]
    public static partial void LockedOut(ILogger logger, string userName, string address);

    [LoggerMessage(3106, LogLevel.Information, "Admin {Admin} {Change} the admin role of {UserName}.")]
    public static partial void RoleChanged(ILogger logger, string admin, string change, string userName);

    [LoggerMessage(3107, LogLevel.Information, "Admin {Admin} issued a password reset link for {UserName}.")]
    public static partial void ResetLinkIssued(ILogger logger, string admin, string userName);

    [LoggerMessage(3108, LogLevel.Information, "Account {UserName} changed its password; its other sessions end.")]
    public static partial void PasswordChanged(ILogger logger, string userName);

    [LoggerMessage(3109, LogLevel.Information, "Account {UserName} set a new password with a reset link.")]
    public static partial void PasswordReset(ILogger logger, string userName);

    [LoggerMessage(3110, LogLevel.Information, "Account {UserName} added a passkey.")]
    public static partial void PasskeyAdded(ILogger logger, string userName);

    [LoggerMessage(3111, LogLevel.Information, "Account {UserName} removed a passkey.")]
    public static partial void PasskeyRemoved(ILogger logger, string userName);

    [LoggerMessage(3112, LogLevel.Warning, "A new passkey for account {UserName} was refused: {Reason}")]
    public static partial void PasskeyRefused(ILogger logger, string userName, string reason);

    [LoggerMessage(3113, LogLevel.Warning, "A passkey sign-in from {Address} was refused: {Reason}")]
    public static partial void PasskeySignInRefused(ILogger logger, string address, string reason);
}
