"""Launcher detection (mnist_lessons.distributed.launchers): each launcher's variables, host lists, ports.

Pure functions of an environment mapping, so every launcher is tested here
with the variables it sets, without the launcher.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mnist_lessons.distributed.launchers import (DEFAULT_PORT, PORT_BASE, PORT_SPAN, Ranks, detect_launcher, expand_nodelist,
                                     identify, job_hosts, job_port, meeting_point, slurm_tasks_per_node,
                                     torch_environment)

#: What each launcher sets for the second of four processes, two per node.
LAUNCHER_ENVIRONMENTS = {
    "torchrun": {"RANK": "1", "WORLD_SIZE": "4", "LOCAL_RANK": "1", "LOCAL_WORLD_SIZE": "2",
                 "MASTER_ADDR": "gpu01", "MASTER_PORT": "29400", "TORCHELASTIC_RUN_ID": "x"},
    "openmpi": {"OMPI_COMM_WORLD_RANK": "1", "OMPI_COMM_WORLD_SIZE": "4", "OMPI_COMM_WORLD_LOCAL_RANK": "1",
                "OMPI_COMM_WORLD_LOCAL_SIZE": "2"},
    "pals": {"PALS_RANKID": "1", "PALS_LOCAL_RANKID": "1", "PMI_RANK": "1", "PMI_SIZE": "4",
             "PMI_LOCAL_RANK": "1", "PMI_LOCAL_SIZE": "2", "PBS_JOBID": "123.polaris-pbs"},
    "intel-mpi": {"PMI_RANK": "1", "PMI_SIZE": "4", "MPI_LOCALRANKID": "1", "MPI_LOCALNRANKS": "2",
                  "I_MPI_ROOT": "/opt/intel/mpi"},
    "mpich": {"PMI_RANK": "1", "PMI_SIZE": "4", "MPI_LOCALRANKID": "1", "MPI_LOCALNRANKS": "2"},
    "slurm": {"SLURM_PROCID": "1", "SLURM_NTASKS": "4", "SLURM_STEP_NUM_TASKS": "4", "SLURM_LOCALID": "1",
              "SLURM_NODEID": "0", "SLURM_STEP_TASKS_PER_NODE": "2(x2)", "SLURM_JOB_ID": "991",
              "SLURM_STEP_NODELIST": "gpu[01-02]", "SLURM_JOB_NODELIST": "gpu[01-02]"},
}


@pytest.mark.parametrize("launcher", sorted(LAUNCHER_ENVIRONMENTS))
def test_each_launcher_is_recognised_and_read(launcher):
    env = LAUNCHER_ENVIRONMENTS[launcher]
    assert detect_launcher(env) == launcher
    assert identify(env) == Ranks(launcher, rank=1, world_size=4, local_rank=1, local_world_size=2)


def test_no_launcher_is_a_world_of_one():
    assert detect_launcher({"HOME": "/root"}) == "none"
    assert identify({}) == Ranks("none", 0, 1, 0, 1)


def test_mpi_inside_a_slurm_job_is_mpi_not_the_job_scripts_slurm_rank():
    job_script = {"SLURM_PROCID": "0", "SLURM_NTASKS": "4", "SLURM_JOB_ID": "5"}
    assert detect_launcher({**job_script, **LAUNCHER_ENVIRONMENTS["openmpi"]}) == "openmpi"
    assert detect_launcher({**job_script, **LAUNCHER_ENVIRONMENTS["mpich"]}) == "mpich"
    assert detect_launcher({**job_script, **LAUNCHER_ENVIRONMENTS["torchrun"]}) == "torchrun"


def test_pals_without_pmi_names_reads_the_pals_ones():
    env = {"PALS_RANKID": "3", "PALS_LOCAL_RANKID": "1", "PMI_SIZE": "4", "PALS_LOCAL_SIZE": "2"}
    assert identify(env) == Ranks("pals", 3, 4, 1, 2)


def test_slurm_local_size_comes_from_this_nodes_task_count():
    env = {"SLURM_PROCID": "4", "SLURM_NTASKS": "5", "SLURM_LOCALID": "0", "SLURM_NODEID": "1",
           "SLURM_TASKS_PER_NODE": "4,1"}
    assert identify(env).local_world_size == 1


@pytest.mark.parametrize("env, problem", [
    ({"RANK": "two", "WORLD_SIZE": "4"}, "RANK='two'"),
    ({"RANK": "4", "WORLD_SIZE": "4"}, "do not fit"),
    ({"OMPI_COMM_WORLD_SIZE": "2"}, "OMPI_COMM_WORLD_RANK"),
])
def test_inconsistent_variables_are_named(env, problem):
    with pytest.raises(ValueError, match=problem):
        identify(env)


@pytest.mark.parametrize("text, hosts", [
    ("gpu01", ["gpu01"]),
    ("node[01-03,7]", ["node01", "node02", "node03", "node7"]),
    ("a[08-10],b", ["a08", "a09", "a10", "b"]),
    ("a[8-10]", ["a8", "a9", "a10"]),
    ("r[1-2]n[0-1]", ["r1n0", "r1n1", "r2n0", "r2n1"]),
    ("x1000c0s[0-1]b0n0,login", ["x1000c0s0b0n0", "x1000c0s1b0n0", "login"]),
])
def test_slurm_host_lists_expand(text, hosts):
    assert expand_nodelist(text) == hosts


@pytest.mark.parametrize("text", ["node[01-03", "node[3-1]", "node[a-b]", "a,,b", "node]1["])
def test_malformed_host_lists_are_refused(text):
    with pytest.raises(ValueError, match="host list"):
        expand_nodelist(text)


def test_slurm_tasks_per_node_syntax():
    assert slurm_tasks_per_node("2(x3),1") == [2, 2, 2, 1]
    with pytest.raises(ValueError, match="tasks per node"):
        slurm_tasks_per_node("2x3")


def test_pbs_node_file_gives_hosts_in_order_once_each(tmp_path: Path):
    nodefile = tmp_path / "nodes"
    nodefile.write_text("x3001c0s1b0n0.hsn\nx3001c0s1b0n0.hsn\nx3002c0s7b0n0.hsn\n")
    assert job_hosts({"PBS_NODEFILE": str(nodefile)}) == ["x3001c0s1b0n0.hsn", "x3002c0s7b0n0.hsn"]


def test_port_is_master_port_else_derived_from_the_job_alike_in_every_rank():
    assert job_port({"MASTER_PORT": "1234", "SLURM_JOB_ID": "9"}) == 1234
    assert job_port({}) == DEFAULT_PORT
    ports = {job_port({"SLURM_JOB_ID": job}) for job in ("1", "2", "3")}
    assert len(ports) == 3 and all(PORT_BASE <= p < PORT_BASE + PORT_SPAN for p in ports)
    rank0, rank1 = ({**LAUNCHER_ENVIRONMENTS["pals"], "PMI_RANK": r} for r in "01")
    assert job_port(rank0) == job_port(rank1) != DEFAULT_PORT


def test_one_host_meets_on_loopback_several_on_the_first_host_of_the_job(tmp_path: Path):
    one_node = {"OMPI_COMM_WORLD_RANK": "1", "OMPI_COMM_WORLD_SIZE": "2", "OMPI_COMM_WORLD_LOCAL_SIZE": "2"}
    assert meeting_point(one_node, identify(one_node))[0] == "127.0.0.1"
    slurm = LAUNCHER_ENVIRONMENTS["slurm"]
    assert meeting_point(slurm, identify(slurm))[0] == "gpu01"
    nodefile = tmp_path / "nodes"
    nodefile.write_text("x1\nx1\nx2\nx2\n")
    pals = {**LAUNCHER_ENVIRONMENTS["pals"], "PBS_NODEFILE": str(nodefile)}
    assert meeting_point(pals, identify(pals))[0] == "x1"
    assert meeting_point({**pals, "MASTER_ADDR": "10.0.0.9"}, identify(pals))[0] == "10.0.0.9"
    assert meeting_point({}, identify({}))[0] == "127.0.0.1"  # a world of one


def test_several_hosts_and_no_host_list_is_a_clear_error():
    env = LAUNCHER_ENVIRONMENTS["openmpi"]  # 4 ranks, 2 per node, nothing says where rank 0 is
    with pytest.raises(ValueError, match="MASTER_ADDR"):
        meeting_point(env, identify(env))


def test_torch_environment_is_what_torchrun_would_set():
    env = torch_environment(Ranks("slurm", 1, 4, 1, 2), "gpu01", 20001)
    assert env == {"RANK": "1", "WORLD_SIZE": "4", "LOCAL_RANK": "1", "LOCAL_WORLD_SIZE": "2",
                   "MASTER_ADDR": "gpu01", "MASTER_PORT": "20001"}
    assert identify(env) == Ranks("torchrun", 1, 4, 1, 2)


def test_only_the_real_ezpz_is_used(monkeypatch):
    import sys
    import types

    from mnist_lessons.distributed.launchers import real_ezpz

    namesake = types.ModuleType("ezpz")  # PyPI's unrelated "ezpz": no setup_torch
    monkeypatch.setitem(sys.modules, "ezpz", namesake)
    assert real_ezpz() is None
    namesake.setup_torch = namesake.get_local_rank = lambda: 0
    assert real_ezpz() is namesake
