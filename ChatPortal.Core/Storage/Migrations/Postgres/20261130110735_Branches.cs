using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace ChatPortal.Core.Storage.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class Branches : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "leaf_id",
                table: "conversations",
                type: "character varying(64)",
                maxLength: 64,
                nullable: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "leaf_id",
                table: "conversations");
        }
    }
}
