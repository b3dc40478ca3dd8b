package stack

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"time"

	"github.com/stevedore-dev/stevedore/tasks/engine"
	"github.com/stevedore-dev/stevedore/tasks/pgtarget"
	"github.com/stevedore-dev/stevedore/tasks/settings"
	"github.com/stevedore-dev/stevedore/tasks/term"
)

// mendLogin waits until the database service answers a password login as
// the application would. A volume made with another password (a second
// checkout of the repository, a deleted settings file) would keep the
// application out until the wait timed out: here the role's password is
// set to the settings' one from inside the container, and that is said in
// one line. A volume made for another role is explained instead. Until
// the deadline, a server that cannot answer yet is waited for; past it,
// or on any other answer (an image without psql, a pg_hba.conf of the
// team's own), the readiness wait has its say.
func mendLogin(ctx context.Context, eng *engine.Engine, s settings.Settings, out *term.Printer, deadline time.Time) error {
	if s.DBService == "" || !slices.Contains(s.Active(), s.DBService) {
		return nil
	}
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for {
		db, err := openDB(ctx, eng, s)
		if err == nil {
			err = db.TCPLogin(ctx)
		}
		var noRole *pgtarget.NoRoleError
		switch {
		case errors.Is(err, pgtarget.ErrWrongPassword):
			return setPassword(ctx, db, s, out)
		case errors.As(err, &noRole):
			return &pgtarget.UnavailableError{
				Msg: fmt.Sprintf("%v: put its POSTGRES_USER back in %s, or start over with an empty database (env:down -volumes deletes its data)",
					noRole, filepath.Base(s.EnvFile)),
				NextCmd: "go tool mage env:down -volumes"}
		case err == nil, ctx.Err() != nil:
			return ctx.Err()
		case !waitable(err):
			return nil
		}
		if time.Now().After(deadline) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// waitable reports whether err may pass: the server or its container is
// still starting.
func waitable(err error) bool {
	var notRunning *pgtarget.UnavailableError
	return errors.Is(err, pgtarget.ErrNotReady) || errors.As(err, &notRunning)
}

func openDB(ctx context.Context, eng *engine.Engine, s settings.Settings) (*pgtarget.Docker, error) {
	name, err := pgtarget.FindService(ctx, eng, s.Project, s.DBService)
	if err != nil {
		return nil, err
	}
	return pgtarget.OpenContainer(ctx, eng, name)
}

func setPassword(ctx context.Context, db *pgtarget.Docker, s settings.Settings, out *term.Printer) error {
	user := db.Credentials().User
	if err := db.SetPassword(ctx); err != nil {
		return &pgtarget.UnavailableError{
			Msg: fmt.Sprintf("the database volume was made with another password for %s, and setting the one in %s failed: %v",
				user, filepath.Base(s.EnvFile), err),
			NextCmd: fmt.Sprintf(`docker exec -it %s psql -U %s -d postgres -c "\password %s"`, db.Name(), user, user)}
	}
	out.OK("the database volume had another password for %s (made by another checkout or an earlier %s): set to the one in %s",
		user, filepath.Base(s.EnvFile), filepath.Base(s.EnvFile))
	return nil
}
