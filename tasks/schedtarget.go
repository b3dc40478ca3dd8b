package tasks

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/magefile/mage/mg"

	"github.com/stevedore-dev/stevedore/tasks/schedule"
	"github.com/stevedore-dev/stevedore/tasks/settings"
	"github.com/stevedore-dev/stevedore/tasks/term"
)

// Schedule installs, lists and removes scheduled backups (cron or a systemd user timer on Linux, launchd on macOS, Task Scheduler on Windows), and prints the Kubernetes CronJob that does the same in a cluster.
type Schedule mg.Namespace

// Install schedules db:backup (and optionally db:verify and db:push) with this machine's scheduler, run from this checkout with the settings of this shell (secrets excepted).
func (Schedule) Install(ctx context.Context,
	every *string, // hourly, daily, daily@03:30 (default), weekly, weekly@HH:MM, 15m, 6h…
	name *string, // the schedule's name, to keep several (default backup)
	verify *bool, // run db:verify after the backup
	push *bool, // run db:push after the backup (offsite.push does it within db:backup)
	with *string, // the scheduler: cron, systemd, launchd or schtasks (default: the best this machine has)
) error {
	return run(ctx, job{name: "schedule:install", next: "go tool mage schedule:list"}, func(out *term.Printer, s settings.Settings) error {
		if flag(push) && s.Offsite == nil {
			return errors.New("-push needs offsite storage: set x-stevedore.offsite.url (s3://bucket/prefix) first")
		}
		j, err := backupJob(s, cmp.Or(str(every), "daily@03:30"), cmp.Or(str(name), "backup"), flag(verify), flag(push))
		if err != nil {
			return err
		}
		if dropped := schedule.Dropped(os.Environ()); len(dropped) > 0 {
			out.Warn("the scheduled run will not have %s (a schedule never holds a secret): if the settings need them, give them through the project's settings file (see the README)",
				strings.Join(dropped, ", "))
		}
		sch, err := schedule.Detect(ctx, str(with))
		if err != nil {
			return err
		}
		if err := sch.Install(ctx, j); err != nil {
			return err
		}
		out.OK("scheduled %s every %s with %s: %s", strings.Join(j.Command[3:], " "), j.Every, sch.Kind(), j.Dir)
		fmt.Fprintf(out.Writer(), "  log      %s\n", j.Log)
		fmt.Fprintf(out.Writer(), "  list     go tool mage schedule:list\n")
		fmt.Fprintf(out.Writer(), "  remove   go tool mage schedule:remove -name=%s\n", j.Name)
		return nil
	})
}

// List shows this project's schedules.
func (Schedule) List(ctx context.Context,
	with *string, // the scheduler to ask (default: the best this machine has)
) error {
	return run(ctx, job{name: "schedule:list"}, func(out *term.Printer, s settings.Settings) error {
		sch, err := schedule.Detect(ctx, str(with))
		if err != nil {
			return err
		}
		all, err := sch.List(ctx, s.Project)
		if err != nil {
			return err
		}
		if len(all) == 0 {
			out.OK("no schedules for project %s in %s", s.Project, sch.Kind())
			out.Next("go tool mage schedule:install")
			return nil
		}
		rows := [][]string{{"NAME", "SCHEDULE", "WHERE"}}
		for _, in := range all {
			rows = append(rows, []string{in.Name, in.Schedule, in.Where})
		}
		out.Table(rows)
		out.OK("%s for project %s in %s", term.Plural(len(all), "schedule"), s.Project, sch.Kind())
		return nil
	})
}

// Remove deletes one of this project's schedules.
func (Schedule) Remove(ctx context.Context,
	name *string, // the schedule (default backup)
	with *string, // the scheduler (default: the best this machine has)
) error {
	return run(ctx, job{name: "schedule:remove", next: "go tool mage schedule:list"}, func(out *term.Printer, s settings.Settings) error {
		sch, err := schedule.Detect(ctx, str(with))
		if err != nil {
			return err
		}
		n := cmp.Or(str(name), "backup")
		removed, err := sch.Remove(ctx, s.Project, n)
		switch {
		case err != nil:
			return err
		case !removed:
			return fmt.Errorf("no schedule %s for project %s in %s", n, s.Project, sch.Kind())
		}
		out.OK("removed schedule %s of project %s from %s", n, s.Project, sch.Kind())
		return nil
	})
}

// Kube prints the Kubernetes manifest (ServiceAccount, Role with pods get/list and pods/exec, RoleBinding, CronJob) that takes the backups in the cluster; apply it with kubectl apply -f -.
func (Schedule) Kube(ctx context.Context,
	every *string, // as for schedule:install (default daily@03:30, in the cluster's time zone)
	namespace *string, // the database's namespace (default default)
	selector *string, // label selector of the database pod (default app=postgres)
	image *string, // the image with stevedore's targets and kubectl, which images:cli builds (default stevedore/cli:local)
	secret *string, // the Secret whose keys become the job's environment: AWS_ACCESS_KEY_ID, STEVEDORE_AGE_RECIPIENTS… (default stevedore)
	push *bool, // push each backup to the offsite bucket (required: the job's pod keeps nothing)
) error {
	return run(ctx, job{name: "schedule:kube"}, func(out *term.Printer, s settings.Settings) error {
		if !flag(push) {
			return errors.New("a backup taken in the job's pod is gone when the pod ends: pass -push, with the offsite settings in the Secret")
		}
		iv, err := schedule.ParseInterval(cmp.Or(str(every), "daily@03:30"))
		if err != nil {
			return err
		}
		args := []string{"db:backup", "-kube", "-namespace=" + cmp.Or(str(namespace), "default"), "-selector=" + cmp.Or(str(selector), "app=postgres"), "db:push"}
		name := "stevedore-" + s.Project + "-backup"
		manifest, err := schedule.CronJobManifest(schedule.KubeJob{Name: name, Namespace: cmp.Or(str(namespace), "default"), Schedule: iv.Cron(),
			Image: cmp.Or(str(image), "stevedore/cli:local"), Args: args, SecretName: cmp.Or(str(secret), "stevedore"), ServiceAccount: name})
		if err != nil {
			return err
		}
		_, err = out.Writer().Write(manifest)
		return err
	})
}

// backupJob is the scheduled run of db:backup [db:verify] [db:push] from
// the working checkout, through this machine's go.
func backupJob(s settings.Settings, every, name string, verify, push bool) (schedule.Job, error) {
	iv, err := schedule.ParseInterval(every)
	if err != nil {
		return schedule.Job{}, err
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		return schedule.Job{}, errors.New("go is not on PATH: the schedule runs go tool mage")
	}
	if goBin, err = filepath.Abs(goBin); err != nil {
		return schedule.Job{}, err
	}
	dir, err := os.Getwd()
	if err != nil {
		return schedule.Job{}, err
	}
	state, err := filepath.Abs(s.StateDir)
	if err != nil {
		return schedule.Job{}, err
	}
	cmd := []string{goBin, "tool", "mage", "db:backup"}
	if verify {
		cmd = append(cmd, "db:verify")
	}
	if push {
		cmd = append(cmd, "db:push")
	}
	return schedule.Job{Name: name, Project: s.Project, Dir: dir, Command: cmd, Every: iv,
		Log: filepath.Join(state, "schedule", name+".log"), Env: schedule.RunEnv(os.Environ())}, nil
}
