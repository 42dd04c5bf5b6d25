package control

import (
	"strings"
	"testing"
)

// TestScriptArg: the script an interpreter runs is read from its
// arguments past its options; inline code is reported by its option only.
func TestScriptArg(t *testing.T) {
	tests := []struct {
		exe  string
		args string // space-separated; "·" stands for a space inside one
		want string
	}{
		{"/usr/bin/bash", "bash nightly-report", "nightly-report"},
		{"/usr/bin/bash", "/bin/bash -x -u -E /home/kim/bin/nightly-report --quiet", "/home/kim/bin/nightly-report"},
		{"/usr/bin/bash", "bash -eo pipefail ./run.sh a b", "./run.sh"},
		{"/usr/bin/bash", "bash +o posix -- ./run.sh", "./run.sh"},
		{"/usr/bin/bash", "bash --norc --rcfile rc ./run.sh", "./run.sh"},
		{"/usr/bin/bash", "bash -c tokentray·token·work", "-c"},
		{"/usr/bin/bash", "bash -ec tokentray·token·work ignored", "-c"},
		{"/usr/bin/dash", "sh -c tokentray·token·work", "-c"},
		{"/usr/bin/dash", "sh -s arg", ""},
		{"/usr/bin/bash", "-bash", ""},
		{"/usr/bin/bash", "bash -i", ""},
		{"/usr/bin/zsh", "zsh -f job.zsh", "job.zsh"},
		{"/usr/bin/fish", "fish -C init job.fish", "job.fish"},
		{"/usr/bin/fish", "fish --command=tokentray·token", "--command"},
		{"/usr/bin/python3.11", "python3 sync.py --all", "sync.py"},
		{"/usr/bin/python3.11", "python3 -u -W ignore -X dev /srv/sync.py", "/srv/sync.py"},
		{"/usr/bin/python3.11", "python3 -Wignore -Bu sync.py", "sync.py"},
		{"/usr/bin/python3.11", "python3 -c import·os", "-c"},
		{"/usr/bin/python3.11", "python3 -Ic import·os", "-c"},
		{"/usr/bin/python3.11", "python3 -m mytool.sync --all", "-m mytool.sync"},
		{"/usr/bin/python3.11", "python3 -mmytool", "-m mytool"},
		{"/usr/bin/python3.11", "python3 -", ""},
		{"/usr/bin/python3.11", "python3", ""},
		{"/usr/bin/node", "node --require ./hook.js --inspect app.js", "app.js"},
		{"/usr/bin/node", "node --env-file=.env app.mjs", "app.mjs"},
		{"/usr/bin/node", "node -e console.log(1)", "-e"},
		{"/usr/bin/node", "node -p 1+1", "-p"},
		{"/usr/bin/node", "node --eval=x", "--eval"},
		{"/usr/bin/perl", "perl -w -MFile::Temp=tempfile report.pl", "report.pl"},
		{"/usr/bin/perl", "perl -i.bak -lne print", "-e"},
		{"/usr/bin/perl", "perl -l0 -w tool.pl", "tool.pl"},
		{"/usr/bin/perl5.36.0", "perl -I lib tool.pl", "tool.pl"},
		{"/usr/bin/ruby3.1", "ruby -rjson -W2 sync.rb", "sync.rb"},
		{"/usr/bin/ruby3.1", "ruby -I lib -e puts·1", "-e"},
		{"/opt/microsoft/powershell/7/pwsh", "pwsh -NoProfile -ExecutionPolicy Bypass -File C:/jobs/sync.ps1", "C:/jobs/sync.ps1"},
		{"/opt/microsoft/powershell/7/pwsh", "pwsh -nop sync.ps1", "sync.ps1"},
		{"/opt/microsoft/powershell/7/pwsh", "pwsh -Command Get-Date", "-Command"},
		{`C:\Program Files\PowerShell\7\pwsh.exe`, "pwsh.exe -c Get-Date", "-Command"},
		{`C:\Python312\python.exe`, "python sync.py", "sync.py"},
		{"/usr/bin/make", "make -f job.mk", ""},
		{"/usr/bin/pythonic", "pythonic sync.py", ""},
		{"/usr/local/bin/tokentray", "tokentray token work", ""},
	}
	for _, tt := range tests {
		args := strings.Fields(tt.args)
		for i := range args {
			args[i] = strings.ReplaceAll(args[i], "·", " ")
		}
		if got := scriptArg(tt.exe, args); got != tt.want {
			t.Errorf("scriptArg(%q, %q) = %q; want %q", tt.exe, args, got, tt.want)
		}
	}
}
