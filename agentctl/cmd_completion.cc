// completion: shell completion scripts for bash, zsh and fish, and the hidden `__complete` that
// they call for what only the daemon knows (agent ids and names, policy names) and for profiles.
#include <dirent.h>

#include <iostream>
#include <set>

#include "agentctl/commands.h"
#include "agentctl/connection.h"
#include "agentctl/here.h"

namespace agentos::ctl {
namespace {

// The words before the one being completed decide; --socket on the line is passed on, so a
// daemon other than the default answers for its own agents.
constexpr const char* kBash = R"BASH(# bash completion for agentctl (agentctl completion bash)
_agentctl() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
  local i cmd= sub= socket=()
  for ((i = 1; i < COMP_CWORD; i++)); do
    case ${COMP_WORDS[i]} in
      --socket) socket=(--socket "${COMP_WORDS[i+1]}"); ((i++)) ;;
      -*) ;;
      *) if [[ -z $cmd ]]; then cmd=${COMP_WORDS[i]}; elif [[ -z $sub ]]; then sub=${COMP_WORDS[i]}; fi ;;
    esac
  done
  local ask="agentctl ${socket[*]} __complete"
  case $prev in
    --socket | --policy | --read | --write | --exec) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    --profile) COMPREPLY=($(compgen -W "$($ask profiles 2>/dev/null)" -- "$cur")); return ;;
    --scope) COMPREPLY=($(compgen -W "once session always" -- "$cur")); return ;;
  esac
  if [[ -z $cmd ]]; then
    COMPREPLY=($(compgen -W "status doctor policy run attach ps stop rm prune logs inspect audit secret pending approve deny revoke completion --socket --json --help --version" -- "$cur"))
    return
  fi
  case $cmd in
    run)
      if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "--policy --detach -t --tty -i --interactive --here --profile --read --write --exec --allow-host --tool --device --print-policy" -- "$cur"))
      else
        COMPREPLY=($(compgen -W "$($ask policies 2>/dev/null)" -- "$cur"))
      fi ;;
    attach | stop | rm | logs | inspect | revoke) COMPREPLY=($(compgen -W "$($ask agents 2>/dev/null)" -- "$cur")) ;;
    ps) COMPREPLY=($(compgen -W "-a --all" -- "$cur")) ;;
    policy) [[ -z $sub ]] && COMPREPLY=($(compgen -W "check list apply" -- "$cur")) || COMPREPLY=($(compgen -f -- "$cur")) ;;
    audit) COMPREPLY=($(compgen -W "verify --agent -f --follow" -- "$cur")) ;;
    secret) COMPREPLY=($(compgen -W "set list rm" -- "$cur")) ;;
    completion) COMPREPLY=($(compgen -W "bash zsh fish" -- "$cur")) ;;
  esac
}
complete -F _agentctl agentctl
)BASH";

// zsh runs the bash function through bashcompinit, so both shells complete alike.
constexpr const char* kZshHead = R"ZSH(#compdef agentctl
# zsh completion for agentctl (agentctl completion zsh)
autoload -U +X bashcompinit && bashcompinit
)ZSH";

constexpr const char* kFish = R"FISH(# fish completion for agentctl (agentctl completion fish)
function __agentctl_ask
    set -l socket
    set -l words (commandline -opc)
    set -l i (contains -i -- --socket $words)
    and set socket --socket $words[(math $i + 1)]
    agentctl $socket __complete $argv 2>/dev/null
end
set -l cmds status doctor policy run attach ps stop rm prune logs inspect audit secret pending approve deny revoke completion
complete -c agentctl -f
complete -c agentctl -n "not __fish_seen_subcommand_from $cmds" -a "$cmds"
complete -c agentctl -l socket -r -F -d "agentosd's socket"
complete -c agentctl -l json -d "Machine-readable output"
complete -c agentctl -n "__fish_seen_subcommand_from run" -a "(__agentctl_ask policies)"
complete -c agentctl -n "__fish_seen_subcommand_from run" -l policy -r -F
complete -c agentctl -n "__fish_seen_subcommand_from run" -l detach
complete -c agentctl -n "__fish_seen_subcommand_from run" -s t -l tty
complete -c agentctl -n "__fish_seen_subcommand_from run" -s i -l interactive
complete -c agentctl -n "__fish_seen_subcommand_from run" -l here
complete -c agentctl -n "__fish_seen_subcommand_from run" -l profile -x -a "(__agentctl_ask profiles)"
complete -c agentctl -n "__fish_seen_subcommand_from run" -l read -r -F
complete -c agentctl -n "__fish_seen_subcommand_from run" -l write -r -F
complete -c agentctl -n "__fish_seen_subcommand_from run" -l exec -r -F
complete -c agentctl -n "__fish_seen_subcommand_from run" -l allow-host -x
complete -c agentctl -n "__fish_seen_subcommand_from run" -l tool -x
complete -c agentctl -n "__fish_seen_subcommand_from run" -l device -r -F
complete -c agentctl -n "__fish_seen_subcommand_from run" -l print-policy
complete -c agentctl -n "__fish_seen_subcommand_from attach stop rm logs inspect revoke" -a "(__agentctl_ask agents)"
complete -c agentctl -n "__fish_seen_subcommand_from ps" -s a -l all
complete -c agentctl -n "__fish_seen_subcommand_from policy; and not __fish_seen_subcommand_from check list apply" -a "check list apply"
complete -c agentctl -n "__fish_seen_subcommand_from check apply" -F
complete -c agentctl -n "__fish_seen_subcommand_from completion" -a "bash zsh fish"
)FISH";

}  // namespace

Outcome<int> cmd_completion(const std::string& shell) {
  if (shell == "bash") std::cout << kBash;
  else if (shell == "zsh") std::cout << kZshHead << kBash;
  else if (shell == "fish") std::cout << kFish;
  else return usage_error("completion is for bash, zsh or fish, not \"" + shell + "\"");
  return kExitOk;
}

Outcome<int> cmd_complete(const Globals& g, const std::string& what) {
  std::set<std::string> words;
  if (what == "profiles") {
    for (const auto& dir : profile_dirs()) {
      DIR* d = ::opendir(dir.c_str());
      if (!d) continue;
      while (const dirent* e = ::readdir(d)) {
        std::string name = e->d_name;
        if (name.size() > 5 && name.ends_with(".toml")) words.insert(name.substr(0, name.size() - 5));
      }
      ::closedir(d);
    }
  } else if (what == "agents" || what == "policies") {
    agentos::v1::Request req;
    if (what == "agents") req.mutable_ps()->set_all(true);
    else req.mutable_policy_list();
    auto resp = call(g.socket, req);
    if (!resp) return kExitFailed;  // nothing to offer; completion says nothing
    if (what == "agents") {
      for (const auto& a : resp->ps().agents()) words.insert({a.id(), a.name()});
    } else {
      for (const auto& p : resp->policy_list().policies()) words.insert(p.name());
    }
  } else {
    return usage_error("__complete agents|policies|profiles");
  }
  for (const auto& w : words) std::cout << w << '\n';
  return kExitOk;
}

}  // namespace agentos::ctl
