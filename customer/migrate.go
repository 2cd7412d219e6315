package customer

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migration is one numbered schema change.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the migrations of fsys for dialect dl, in order.
// Files are named migrations/NNNN_what.sql, run on every dialect, or
// migrations/NNNN_what.DIALECT.sql (DIALECT "sqlite" or "postgres") when
// a change must be written differently for each (SQLite cannot alter a
// CHECK constraint, for one): then every dialect has its own file for
// that number. Numbers start at 1 and have no gaps.
func (dl dialect) migrations(fsys fs.FS) ([]migration, error) {
	names, err := fs.Glob(fsys, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, n := range names {
		base := strings.TrimPrefix(n, "migrations/")
		num, rest, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("customer: migration %s is not named NNNN_name.sql", base)
		}
		if stem := strings.TrimSuffix(rest, ".sql"); strings.Contains(stem, ".") {
			switch d := stem[strings.LastIndexByte(stem, '.')+1:]; d {
			case dl.name:
			case sqliteDialect.name, postgresDialect.name:
				continue // the other dialect's version of this change
			default:
				return nil, fmt.Errorf("customer: migration %s: unknown dialect %q (want sqlite or postgres)", base, d)
			}
		}
		b, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: base, sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("customer: migration %s: want version %d", m.name, i+1)
		}
	}
	return ms, nil
}

// statements splits a migration into statements (each ends with ";" at
// the end of a line) with the dialect's tokens replaced.
func (dl dialect) statements(src string) ([]string, error) {
	src = dl.tokens.Replace(src)
	if i := strings.Index(src, "{{"); i >= 0 {
		end := min(i+20, len(src))
		return nil, fmt.Errorf("unknown token at %q", src[i:end])
	}
	var out []string
	for _, s := range strings.Split(src, ";\n") {
		var keep []string
		for _, line := range strings.Split(s, "\n") {
			if t := strings.TrimSpace(line); t != "" && !strings.HasPrefix(t, "--") {
				keep = append(keep, line)
			}
		}
		if len(keep) > 0 {
			out = append(out, strings.TrimSuffix(strings.Join(keep, "\n"), ";"))
		}
	}
	return out, nil
}

// migrate applies the migrations of fsys the database does not have yet,
// each in its own transaction together with its schema_migrations row.
func (d *DB) migrate(ctx context.Context, fsys fs.FS) error {
	ms, err := d.dialect.migrations(fsys)
	if err != nil {
		return err
	}
	for _, m := range ms {
		stmts, err := d.dialect.statements(m.sql)
		if err != nil {
			return fmt.Errorf("customer: migration %s: %w", m.name, err)
		}
		err = d.inTx(ctx, func(tx *sql.Tx) error {
			if d.dialect.lockMigrations != "" {
				if _, err := tx.ExecContext(ctx, d.dialect.lockMigrations); err != nil {
					return err
				}
			}
			if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
				version    INTEGER PRIMARY KEY,
				name       TEXT NOT NULL,
				applied_us BIGINT NOT NULL)`); err != nil {
				return err
			}
			var n int
			if err := tx.QueryRowContext(ctx,
				`SELECT count(*) FROM schema_migrations WHERE version = $1`, m.version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			for _, s := range stmts {
				if _, err := tx.ExecContext(ctx, s); err != nil {
					return fmt.Errorf("%w\nin statement:\n%s", err, s)
				}
			}
			_, err := tx.ExecContext(ctx,
				`INSERT INTO schema_migrations (version, name, applied_us) VALUES ($1, $2, $3)`,
				m.version, m.name, d.now().UnixMicro())
			if err == nil {
				d.log.Info("customer: migration applied", "version", m.version, "name", m.name, "dialect", d.dialect.name)
			}
			return err
		})
		if err != nil {
			return fmt.Errorf("customer: migration %s: %w", m.name, err)
		}
	}
	return nil
}

// SchemaVersion returns the highest migration applied.
func (d *DB) SchemaVersion(ctx context.Context) (int, error) {
	var v sql.NullInt64
	err := d.db.QueryRowContext(ctx, `SELECT max(version) FROM schema_migrations`).Scan(&v)
	return int(v.Int64), err
}
