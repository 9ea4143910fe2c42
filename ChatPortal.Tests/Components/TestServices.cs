using Bunit;
using ChatPortal.Rendering;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor.Services;

namespace ChatPortal.Tests.Components;

public static class TestServices
{
    /// <summary>
    /// What the chat components need to render under bunit: loose JS interop (module imports and calls
    /// succeed with default results), MudBlazor with no transitions, the Markdown renderer.
    /// </summary>
    public static BunitContext AddTestServices(this BunitContext context)
    {
        context.JSInterop.Mode = JSRuntimeMode.Loose;
        context.Services.AddMudServices(options =>
        {
            options.SnackbarConfiguration.ShowTransitionDuration = 0;
            options.SnackbarConfiguration.HideTransitionDuration = 0;
        });
        context.Services.AddSingleton<MarkdownRenderer>();
        context.Services.AddScoped<ChatPortal.Components.Pages.Chat.ChatNotices>();
        context.Services.AddSingleton(TimeProvider.System);
        context.Services.AddSingleton(Microsoft.Extensions.Options.Options.Create(new ChatPortal.Core.Configuration.ChatPortalOptions()));
        return context;
    }
}

/// <summary>
/// A bunit context for one test class, with <see cref="TestServices.AddTestServices"/>. xunit 2 disposes a
/// test class synchronously, and MudBlazor's services dispose only asynchronously: this disposes async.
/// </summary>
public abstract class ComponentTest : BunitContext, IAsyncLifetime
{
    protected ComponentTest() => this.AddTestServices();

    Task IAsyncLifetime.InitializeAsync() => Task.CompletedTask;

    Task IAsyncLifetime.DisposeAsync() => DisposeAsync().AsTask();
}
