#!/usr/bin/env python3
# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.
"""Side-by-side benchmark of imagex list against image list.

Starts the local cloud, seeds images (not timed), then runs each pair of
commands alternately and prints medians and ratios of wall time and peak
RSS, with the number of HTTP requests each command made. Ratios measured
in one run are what count: absolute times vary with the machine's load.

Run with the python of a virtualenv that has python-openstackclient and
osc-imagex installed (``tox -e bench`` does that).
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLOUD_DIR = os.environ.get('IMAGEX_CLOUD_DIR') or os.path.join(REPO, '.cloud')
LOCALCLOUD = [sys.executable, os.path.join(REPO, 'tools', 'localcloud.py')]
BIN = os.path.dirname(sys.executable)
OPENSTACK = os.path.join(BIN, 'openstack')


def cloud_env():
    env = {k: v for k, v in os.environ.items() if not k.startswith('OS_')}
    env['OS_CLIENT_CONFIG_FILE'] = os.path.join(CLOUD_DIR, 'clouds.yaml')
    env['OS_CLOUD'] = 'imagex-local'
    return env


def run_once(argv, env):
    """Wall seconds and peak RSS (KiB) of one command; output discarded"""
    started = time.perf_counter()
    process = subprocess.Popen(
        argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    stderr = process.stderr.read().decode()
    process.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit('failed: %s\n%s' % (' '.join(argv), stderr))
    return wall, usage.ru_maxrss


def compare(label, pairs, rounds, env):
    """Run the commands of ``pairs`` alternately; print medians and ratio"""
    samples = {name: [] for name, _ in pairs}
    for _ in range(rounds):
        for name, argv in pairs:
            samples[name].append(run_once(argv, env))
    (base_name, _), (other_name, _) = pairs
    base_wall = statistics.median(s[0] for s in samples[base_name])
    other_wall = statistics.median(s[0] for s in samples[other_name])
    base_rss = statistics.median(s[1] for s in samples[base_name])
    other_rss = statistics.median(s[1] for s in samples[other_name])
    print('%s' % label)
    for name, wall, rss in (
        (base_name, base_wall, base_rss),
        (other_name, other_wall, other_rss),
    ):
        print(
            '  %-44s median %6.2f s  peak RSS %7.1f MiB'
            % (name, wall, rss / 1024)
        )
    print(
        '  ratio %s / %s: time %.3f, peak RSS %.3f\n'
        % (other_name, base_name, other_wall / base_wall, other_rss / base_rss)
    )
    return other_wall / base_wall, other_rss / base_rss


def request_count(argv, env):
    """HTTP requests a command makes, from OSC's own --timing table"""
    result = subprocess.run(
        [OPENSTACK, '--timing'] + argv,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    # The timing table follows the listing, in the listing's format.
    return sum(
        1
        for line in result.stdout.splitlines()
        if re.match(r'^[|"\s]*(GET|POST|PUT|HEAD) ', line)
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--images', type=int, default=2000)
    parser.add_argument('--scale-images', type=int, default=10000)
    parser.add_argument('--rounds', type=int, default=5)
    parser.add_argument('--skip-scaling', action='store_true')
    args = parser.parse_args()

    subprocess.run(LOCALCLOUD + ['up'], check=True)
    env = cloud_env()
    workdir = tempfile.mkdtemp(prefix='imagex-bench-')
    log = os.path.join(workdir, 'trace.jsonl')
    results = {}

    subprocess.run(LOCALCLOUD + ['seed-bulk', str(args.images)], check=True)
    listing = ['--all', '-f', 'value']
    image_list = [OPENSTACK, 'image', 'list'] + listing
    imagex_list = [OPENSTACK, 'imagex', 'list'] + listing
    print(
        '\nRequests for %d images: image list %d, imagex list %d\n'
        % (
            args.images,
            request_count(['image', 'list'] + listing, env),
            request_count(['imagex', 'list'] + listing, env),
        )
    )
    results['imagex_vs_image_list'] = compare(
        'imagex list --all vs image list --all, %d images' % args.images,
        [('image list', image_list), ('imagex list', imagex_list)],
        args.rounds,
        env,
    )

    def imagex_with_log():
        # A fresh file each time, so the log never grows across rounds.
        if os.path.exists(log):
            os.unlink(log)
        return imagex_list + ['--http-log', log]

    samples = {'imagex list': [], 'imagex list --http-log x.jsonl': []}
    for _ in range(args.rounds):
        samples['imagex list'].append(run_once(imagex_list, env))
        samples['imagex list --http-log x.jsonl'].append(
            run_once(imagex_with_log(), env)
        )
    base = samples['imagex list']
    logged = samples['imagex list --http-log x.jsonl']
    time_ratio = statistics.median(s[0] for s in logged) / statistics.median(
        s[0] for s in base
    )
    rss_ratio = statistics.median(s[1] for s in logged) / statistics.median(
        s[1] for s in base
    )
    print(
        'imagex list with a JSON-lines log vs without, %d images' % args.images
    )
    print(
        '  ratio: time %.3f, peak RSS %.3f (log %.1f MiB)\n'
        % (time_ratio, rss_ratio, os.path.getsize(log) / 2**20)
    )
    results['log_overhead'] = (time_ratio, rss_ratio)

    results['startup_help'] = startup(args.rounds, env)

    results['convert'] = convert_scaling(log, workdir, env)

    if not args.skip_scaling:
        small = statistics.median(s[0] for s in base)
        small_rss = statistics.median(s[1] for s in base)
        subprocess.run(
            LOCALCLOUD + ['seed-bulk', str(args.scale_images)], check=True
        )
        large = [run_once(imagex_list, env) for _ in range(args.rounds)]
        # The small figures come from earlier in this run; re-measure them
        # alternately would need reseeding, so this ratio is the noisiest.
        large_wall = statistics.median(s[0] for s in large)
        large_rss = statistics.median(s[1] for s in large)
        print(
            'imagex list scaling, %d vs %d images'
            % (args.scale_images, args.images)
        )
        print(
            '  ratio: time %.3f (linear would be %.1f), peak RSS %.3f\n'
            % (
                large_wall / small,
                args.scale_images / args.images,
                large_rss / small_rss,
            )
        )
        results['scaling'] = (large_wall / small, large_rss / small_rss)

    print(json.dumps(results))


def convert_scaling(sample_log, workdir, env):
    """log convert of 5,000 and 10,000 exchanges, for each format"""
    with open(sample_log) as stream:
        records = [json.loads(line) for line in stream]
    # Small exchanges (the token request) rather than image pages, so the
    # count of exchanges is what grows.
    exchange = [r for r in records if r['record'] == 'exchange'][1]
    sizes = (5000, 10000)
    paths = {}
    for size in sizes:
        paths[size] = os.path.join(workdir, 'convert-%d.jsonl' % size)
        with open(paths[size], 'w') as stream:
            stream.write(json.dumps(records[0]) + '\n')
            for seq in range(1, size + 1):
                stream.write(json.dumps(dict(exchange, seq=seq)) + '\n')
    ratios = {}
    print('log convert, %d vs %d exchanges' % sizes)
    for name in ('jsonl', 'text', 'har', 'mermaid', 'markdown'):
        walls = {}
        for size in sizes:
            argv = [
                OPENSTACK,
                'imagex',
                'log',
                'convert',
                paths[size],
                '--format',
                name,
                '-o',
                os.path.join(workdir, 'out-%d.%s' % (size, name)),
            ]
            walls[size] = statistics.median(
                run_once(argv, env)[0] for _ in range(3)
            )
        # Start-up is the same for both; what grows is the rest.
        startup_wall = statistics.median(
            run_once([OPENSTACK, 'imagex', 'log', 'convert', '--help'], env)[0]
            for _ in range(3)
        )
        grown = (walls[sizes[1]] - startup_wall) / max(
            walls[sizes[0]] - startup_wall, 1e-3
        )
        ratios[name] = grown
        print(
            '  %-9s %6.2f s vs %6.2f s; beyond start-up: x%.1f '
            '(linear: x%d)'
            % (
                name,
                walls[sizes[1]],
                walls[sizes[0]],
                grown,
                sizes[1] // sizes[0],
            )
        )
    print()
    return ratios


def _bench_venv(name, with_plugin):
    """A virtualenv with OSC, and osc-imagex when asked; made once"""
    path = os.path.join(REPO, '.bench', name)
    pip = [
        os.path.join(path, 'bin', 'python'),
        '-m',
        'pip',
        'install',
        '--quiet',
    ]
    if not os.path.exists(os.path.join(path, 'bin', 'openstack')):
        subprocess.run([sys.executable, '-m', 'venv', path], check=True)
        subprocess.run(
            pip + ['-r', os.path.join(REPO, 'requirements.txt')], check=True
        )
    if with_plugin:
        # Not editable: an editable install adds an import hook of its own.
        subprocess.run(
            pip + ['--no-deps', '--force-reinstall', REPO], check=True
        )
    return os.path.join(path, 'bin', 'openstack')


def startup(rounds, env):
    """openstack --help in two like virtualenvs, one with the plugin"""
    without = _bench_venv('venv-without-plugin', with_plugin=False)
    with_plugin = _bench_venv('venv-with-plugin', with_plugin=True)
    ratios = {}
    for argv in (['--help'], ['image', 'list', '--help']):
        ratios[' '.join(argv)] = compare(
            'openstack %s: with osc-imagex vs without' % ' '.join(argv),
            [
                ('without plugin', [without] + argv),
                ('with plugin', [with_plugin] + argv),
            ],
            rounds * 4,
            env,
        )
    return ratios


if __name__ == '__main__':
    main()
