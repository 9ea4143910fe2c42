namespace ChatPortal.Core;

/// <summary>The name of this node, as the UI, API and dashboard show it.</summary>
public sealed record NodeIdentity(string Id);
