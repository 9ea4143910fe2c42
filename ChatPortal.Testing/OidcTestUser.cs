namespace ChatPortal.Testing;

/// <summary>A person the <see cref="OidcTestProvider"/> signs in: the claims its id_token carries.</summary>
public sealed record OidcTestUser(string Subject, string Email, string Name)
{
    public static OidcTestUser Alice { get; } = new("alice-0001", "alice@example.test", "Alice Tester");

    public static OidcTestUser Bob { get; } = new("bob-0002", "bob@example.test", "Bob Tester");
}
