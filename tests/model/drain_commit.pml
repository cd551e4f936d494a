/* drain_commit.pml: the counting drain and two-phase commit of tern, 3 ranks.
 *
 * What is modelled (docs/architecture.md, "One checkpoint, by module": agree, drain, commit, restart):
 *  - Application phase. Each rank runs an application loop that may, in any
 *    order: post a send of a new message (a unique id) to either peer, up to
 *    K messages per peer; complete a receive of a message that has arrived
 *    from either peer (a test that succeeds, ANY_SOURCE-like); or reach its
 *    snapshot point once it knows a checkpoint is wanted.
 *  - net[i*N+j] is the application traffic from i to j: a FIFO, because MPI
 *    does not let messages between one pair (same communicator and tag)
 *    overtake each other. Putting a message in it is posting the send.
 *  - Counters, per ordered pair, local to each rank: sent_x is counted when
 *    the send is posted, recvd_x when the receive completes (at the
 *    receiver).
 *  - Intent. The trigger reaches rank 0 at any point of its application
 *    loop (a nondeterministic choice there stands for the trigger's arrival);
 *    rank 0 tells ranks 1 and 2 on a private control channel, which they
 *    test in their application loop. A rank that has seen intent
 *    sends no more application messages (it is at its snapshot point).
 *  - Counter exchange and drain. Every rank tells every peer how many
 *    messages it sent to it; the receiver then receives from that pair until
 *    recvd == sent, into a drain buffer (dbuf), counting each one received.
 *  - Write: every rank writes its part, which may fail (nondeterministic),
 *    and reports OK/failed to the coordinator (rank 0's commit logic, the
 *    Coord process).
 *  - Commit: the coordinator commits only if all N reports are OK;
 *    otherwise the checkpoint is discarded and the job goes on.
 *  - Resume or restart: the drained messages are handed to the application,
 *    each once, without counting them again. After the cut rank 0 sends
 *    rank 1 one more message; rank 1's receives from rank 0 take the drained
 *    messages first, so the pair's order holds across the cut. (A restart from the committed
 *    checkpoint and a continuation look the same to this accounting: the
 *    application state at the cut holds what was received before the cut.)
 *
 * Checked:
 *  - assertion (Check process): every message that was sent was delivered to
 *    the application exactly once (received before the cut, or drained and
 *    redelivered; a message left in the network at the cut would be lost at
 *    a restart, since MPI's own state is not saved), and the receive counter
 *    equals the send counter for every pair (nothing counted twice);
 *  - LTL `commit_safe`: [] (committed -> every rank wrote OK), and never both
 *    committed and aborted;
 *  - assertion: rank 0's post-cut message reaches rank 1's application only
 *    after all of rank 0's pre-cut messages to rank 1;
 *  - no invalid end states (no deadlock): spin's default check.
 *
 * Broken variants, to show the model can fail:
 *  -DBUG_MARKER  instead of counts, each sender sends a marker on a separate
 *                tag (the ctl channel) when it reaches the cut, and the receiver
 *                drains until it has received the marker. MPI orders messages
 *                only per matching receive, so the marker's receive can
 *                complete while application messages are still unreceived:
 *                a message is lost.
 *  -DBUG_COMMIT  the coordinator commits once it has all N reports without
 *                looking at whether each said OK.
 *  -DBUG_NEW_FIRST  after the cut, rank 1's receive from rank 0 may take a
 *                new message from the network before the drained ones: the
 *                pair's FIFO order breaks across the cut (assertion).
 *  -DBUG_NO_INTENT  rank 0 does not tell rank 2 that a checkpoint is wanted:
 *                the others wait for rank 2's counts for ever (a deadlock,
 *                found as an invalid end state).
 *
 * Reachability probes (-DREACH_COMMIT_WITH_DRAIN, -DREACH_ABORT_WITH_DRAIN)
 * assert that a commit (an abort) with drained messages never happens; spin
 * must refute them, which shows that the checks above are not vacuous.
 *
 * Bounds: N = 3 ranks, K = 1 message from each rank to each peer before the
 * cut (6 messages) and one after it, about a million states (-DMODEL_K=2, two per pair so that FIFO
 * order matters too, is over 29 million states and does not finish in 3 GB).
 */

#define N 3
#ifndef MODEL_K
#define MODEL_K 1       /* messages each rank may send to each peer */
#endif
#define K MODEL_K
#define M (2 * K)       /* messages each rank may send */
#define NMSG (N * M)
#define P(i, j) ((i) * N + (j))
#define NEWID NMSG      /* the message rank 0 sends rank 1 after the cut */

chan net[N * N] = [M] of { byte };      /* application messages i -> j */
chan ctl[N * N] = [1] of { byte };      /* counter exchange i -> j (or marker) */
chan intent[N] = [1] of { bit };        /* rank 0 -> rank i: checkpoint wanted */
chan ack = [N] of { byte, bit };        /* rank -> coordinator: wrote, ok? */
chan decision[N] = [1] of { bit };      /* coordinator -> rank: 1 committed */

/* Ghost variables for the checks, each written once per rank, so that the
 * application phase touches only local state and exclusive channels (which
 * keeps partial-order reduction effective). */
byte truth[N * N];       /* messages i -> j posted before i's cut */
byte deliv[N * N];       /* distinct messages i -> j the application got */
byte counted[N * N];     /* j's receive counter for i at the end */
bool twice;              /* some message reached the application twice */
byte drained;            /* messages that went through a drain buffer */
bool wrote_ok[N];
bool committed;
bool aborted;
byte ndone;

#ifndef NO_LTL
ltl commit_safe { [] ((committed -> (wrote_ok[0] && wrote_ok[1] && wrote_ok[2])) && !(committed && aborted)) }
#endif

/* post a send of a new message over channel `out`, counted at post; the
 * message ids are unique: me*M + slot*K + sequence */
inline post_send(out, slot, cnt_sent) {
    atomic {
        out!(me * M + slot * K + cnt_sent);
        cnt_sent++
    }
}

/* a receive from channel `in` completes: counted, given to the application */
inline complete_recv(in, cnt_recvd) {
    atomic {
        in?id;
        cnt_recvd++;
        got[id]++;
        id = 0
    }
}

/* drain what the peer sent me before its cut */
inline drain_from(in, cin, cnt_recvd, dbuf) {
#ifdef BUG_MARKER
    /* until the marker (a separate tag) has been received */
    do
    :: atomic { in?id -> cnt_recvd++; dbuf!id; ndr++; id = 0 }
    :: cin?_ -> break
    od
#else
    /* until received == the count the sender reported */
    atomic {
        cin?cnt;
        do
        :: cnt_recvd < cnt -> in?id; cnt_recvd++; dbuf!id; ndr++; id = 0
        :: else -> break
        od;
        cnt = 0
    }
#endif
}

/* publish what the application got from peer k (ghosts for Check) */
inline publish(k, cnt_recvd) {
    n = 0;
    for (i : 0 .. NMSG - 1) {
        if
        :: got[i] > 1 -> twice = true
        :: else -> skip
        fi;
        /* ids k sent to me: slot 0 if I am k's "a" peer (k + 1), else 1 */
        if
        :: i / M == k && (i % M) / K == (me == (k + 1) % N -> 0 : 1) && got[i] == 1 -> n++
        :: else -> skip
        fi
    }
    deliv[P(k, me)] = n;
    counted[P(k, me)] = cnt_recvd
}

proctype Rank(byte me; chan to_a, to_b, from_a, from_b, cto_a, cto_b, cfrom_a, cfrom_b) {
    xs to_a, to_b, cto_a, cto_b;
    xr from_a, from_b, cfrom_a, cfrom_b;
    chan dbuf_a = [M] of { byte };  /* drained messages from peer a */
    chan dbuf_b = [M] of { byte };  /* drained messages from peer b */
    byte got[NMSG + 1];             /* times each message reached the application */
    byte id, cnt, a, b, i, n, ndr;
    byte sent_a, sent_b, recvd_a, recvd_b;  /* tern's counters, per peer */
    bit ok, d;
    a = (me + 1) % N;
    b = (me + 2) % N;

    /* application phase, until this rank is at its snapshot point */
    do
    :: sent_a < K -> post_send(to_a, 0, sent_a)
    :: sent_b < K -> post_send(to_b, 1, sent_b)
    :: complete_recv(from_a, recvd_a)
    :: complete_recv(from_b, recvd_b)
    :: me == 0 -> /* the trigger arrives */
#ifdef BUG_NO_INTENT
        atomic { intent[1]!1 };    /* broken: rank 2 is never told */
#else
        atomic { intent[1]!1; intent[2]!1 };
#endif
        break
    :: me != 0 && intent[me]?[1] ->
        intent[me]?_;
        break
    od;

    /* counter exchange (the broken variant: a marker), then drain */
    atomic {
        truth[P(me, a)] = sent_a;
        truth[P(me, b)] = sent_b;
        cto_a!sent_a;
        cto_b!sent_b
    };
    drain_from(from_a, cfrom_a, recvd_a, dbuf_a);
    drain_from(from_b, cfrom_b, recvd_b, dbuf_b);

    /* write this rank's part; the write may fail */
    atomic {
        if
        :: ok = 1
        :: ok = 0
        fi;
        wrote_ok[me] = ok;
        ack!me, ok
    };

    /* resume (after a commit or an abort) or restart from the commit: the
     * drained messages go to the application, once, not counted again */
    atomic {
        decision[me]?d;
        do
        :: dbuf_a?id -> got[id]++; id = 0
        :: empty(dbuf_a) -> break
        od;
        if
        :: me != 1 ->
            do
            :: dbuf_b?id -> got[id]++; id = 0
            :: empty(dbuf_b) -> break
            od
        :: else -> skip
        fi;
        publish(a, recvd_a);
        drained = drained + ndr
    };
    /* After the cut, rank 0 sends rank 1 one more message; rank 1's
     * application receives from rank 0 until it has it. Its receives must
     * be served from the drained messages first, so that the pair's FIFO
     * order holds across the cut. */
    if
    :: me == 0 -> to_a!NEWID
    :: me == 1 ->
        do
        :: atomic { dbuf_b?id -> got[id]++; id = 0 }
#ifdef BUG_NEW_FIRST
        :: atomic { from_b?id -> recvd_b++;
#else
        :: atomic { empty(dbuf_b) -> from_b?id; recvd_b++;
#endif
               /* all of 0's pre-cut messages to me (ids 0 .. K-1) came first */
               n = 0;
               for (i : 0 .. K - 1) { n = n + got[i] }
               assert(id != NEWID || n == truth[P(0, 1)]);
               got[id]++; id = 0; i = 0; n = 0; break }
        od;
        assert(got[NEWID] == 1)
    :: else -> skip
    fi;
    atomic {
        if
        :: me == 1 -> recvd_b--   /* the post-cut message is not pre-cut traffic */
        :: else -> skip
        fi;
        publish(b, recvd_b);
        ndone++
    }
}

proctype Coord() {
    byte n, nok, r, i;
    bit ok;
    do
    :: n < N -> atomic { ack?r, ok; n++; if :: ok -> nok++ :: else -> skip fi; r = 0; ok = 0 }
    :: n == N -> break
    od;
    atomic {
#ifdef BUG_COMMIT
        /* broken: commits once every rank answered, OK or not */
        if
        :: n == N -> committed = true
        :: else -> aborted = true
        fi;
#else
        if
        :: nok == N -> committed = true   /* the atomic rename */
        :: else -> aborted = true         /* discard; the previous one stays */
        fi;
#endif
        for (i : 0 .. N - 1) {
            decision[i]!committed
        }
    }
}

proctype Check() {
    byte i;
    ndone == N;
    atomic {
        assert(!twice);                        /* never delivered twice */
        for (i : 0 .. N * N - 1) {
            assert(deliv[i] == truth[i]);      /* every sent message delivered */
            assert(counted[i] == truth[i])     /* nothing counted twice */
        }
        assert(committed != aborted);
        /* Reachability probes (model.not_vacuous): each assertion below is
         * false on some run, so spin must report it; that shows commits,
         * aborts and drained messages all happen in the model. */
#ifdef REACH_COMMIT_WITH_DRAIN
        assert(!(committed && drained > 0));
#endif
#ifdef REACH_ABORT_WITH_DRAIN
        assert(!(aborted && drained > 0));
#endif
        skip
    }
}

init {
    atomic {
        run Coord();
        /* P(i, j) = 3i + j */
        run Rank(0, net[1], net[2], net[3], net[6], ctl[1], ctl[2], ctl[3], ctl[6]);
        run Rank(1, net[5], net[3], net[7], net[1], ctl[5], ctl[3], ctl[7], ctl[1]);
        run Rank(2, net[6], net[7], net[2], net[5], ctl[6], ctl[7], ctl[2], ctl[5]);
        run Check()
    }
}
