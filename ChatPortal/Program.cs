using ChatPortal.Accounts;
using ChatPortal.Api;
using ChatPortal.Components;
using ChatPortal.Hosting;
using ChatPortal.Identity;

var builder = WebApplication.CreateBuilder(args);

builder.AddChatPortalCore();
builder.AddChatPortalWeb();
builder.AddChatPortalExternalSignIn();
builder.AddChatPortalTelemetry();

var app = builder.Build();

app.UseChatPortalPipeline();

app.MapChatPortalHealth();
app.MapConversationEndpoints();
app.MapModelEndpoints();
app.MapTaskEndpoints();
app.MapAdminEndpoints();
app.MapAccountEndpoints();
app.MapExternalSignIn();
app.MapStaticAssets();
app.MapRazorComponents<App>()
    .AddInteractiveServerRenderMode();

app.Run();

/// <summary>Entry point, visible to WebApplicationFactory in the tests.</summary>
public partial class Program;
