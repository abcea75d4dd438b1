#define rand	pan_rand
#define pthread_equal(a,b)	((a)==(b))
#if defined(HAS_CODE) && defined(VERBOSE)
	#ifdef BFS_PAR
		bfs_printf("Pr: %d Tr: %d\n", II, t->forw);
	#else
		cpu_printf("Pr: %d Tr: %d\n", II, t->forw);
	#endif
#endif
	switch (t->forw) {
	default: Uerror("bad forward move");
	case 0:	/* if without executable clauses */
		continue;
	case 1: /* generic 'goto' or 'skip' */
		IfNotBlocked
		_m = 3; goto P999;
	case 2: /* generic 'else' */
		IfNotBlocked
		if (trpt->o_pm&1) continue;
		_m = 3; goto P999;

		 /* CLAIM live */
	case 3: // STATE 1 - _spin_nvr.tmp:12 - [(!(cs[2]))] (0:0:0 - 1)
		
#if defined(VERI) && !defined(NP)
#if NCLAIMS>1
		{	static int reported1 = 0;
			if (verbose && !reported1)
			{	int nn = (int) ((Pclaim *)pptr(0))->_n;
				printf("depth %ld: Claim %s (%d), state %d (line %d)\n",
					depth, procname[spin_c_typ[nn]], nn, (int) ((Pclaim *)pptr(0))->_p, src_claim[ (int) ((Pclaim *)pptr(0))->_p ]);
				reported1 = 1;
				fflush(stdout);
		}	}
#else
		{	static int reported1 = 0;
			if (verbose && !reported1)
			{	printf("depth %d: Claim, state %d (line %d)\n",
					(int) depth, (int) ((Pclaim *)pptr(0))->_p, src_claim[ (int) ((Pclaim *)pptr(0))->_p ]);
				reported1 = 1;
				fflush(stdout);
		}	}
#endif
#endif
		reached[3][1] = 1;
		if (!( !(((int)now.cs[2]))))
			continue;
		_m = 3; goto P999; /* 0 */
	case 4: // STATE 3 - _spin_nvr.tmp:13 - [(!(cs[1]))] (0:0:0 - 1)
		
#if defined(VERI) && !defined(NP)
#if NCLAIMS>1
		{	static int reported3 = 0;
			if (verbose && !reported3)
			{	int nn = (int) ((Pclaim *)pptr(0))->_n;
				printf("depth %ld: Claim %s (%d), state %d (line %d)\n",
					depth, procname[spin_c_typ[nn]], nn, (int) ((Pclaim *)pptr(0))->_p, src_claim[ (int) ((Pclaim *)pptr(0))->_p ]);
				reported3 = 1;
				fflush(stdout);
		}	}
#else
		{	static int reported3 = 0;
			if (verbose && !reported3)
			{	printf("depth %d: Claim, state %d (line %d)\n",
					(int) depth, (int) ((Pclaim *)pptr(0))->_p, src_claim[ (int) ((Pclaim *)pptr(0))->_p ]);
				reported3 = 1;
				fflush(stdout);
		}	}
#endif
#endif
		reached[3][3] = 1;
		if (!( !(((int)now.cs[1]))))
			continue;
		_m = 3; goto P999; /* 0 */
	case 5: // STATE 5 - _spin_nvr.tmp:14 - [(!(cs[0]))] (0:0:0 - 1)
		
#if defined(VERI) && !defined(NP)
#if NCLAIMS>1
		{	static int reported5 = 0;
			if (verbose && !reported5)
			{	int nn = (int) ((Pclaim *)pptr(0))->_n;
				printf("depth %ld: Claim %s (%d), state %d (line %d)\n",
					depth, procname[spin_c_typ[nn]], nn, (int) ((Pclaim *)pptr(0))->_p, src_claim[ (int) ((Pclaim *)pptr(0))->_p ]);
				reported5 = 1;
				fflush(stdout);
		}	}
#else
		{	static int reported5 = 0;
			if (verbose && !reported5)
			{	printf("depth %d: Claim, state %d (line %d)\n",
					(int) depth, (int) ((Pclaim *)pptr(0))->_p, src_claim[ (int) ((Pclaim *)pptr(0))->_p ]);
				reported5 = 1;
				fflush(stdout);
		}	}
#endif
#endif
		reached[3][5] = 1;
		if (!( !(((int)now.cs[0]))))
			continue;
		_m = 3; goto P999; /* 0 */
	case 6: // STATE 12 - _spin_nvr.tmp:19 - [(!(cs[2]))] (0:0:0 - 1)
		
#if defined(VERI) && !defined(NP)
#if NCLAIMS>1
		{	static int reported12 = 0;
			if (verbose && !reported12)
			{	int nn = (int) ((Pclaim *)pptr(0))->_n;
				printf("depth %ld: Claim %s (%d), state %d (line %d)\n",
					depth, procname[spin_c_typ[nn]], nn, (int) ((Pclaim *)pptr(0))->_p, src_claim[ (int) ((Pclaim *)pptr(0))->_p ]);
				reported12 = 1;
				fflush(stdout);
		}	}
#else
		{	static int reported12 = 0;
			if (verbose && !reported12)
			{	printf("depth %d: Claim, state %d (line %d)\n",
					(int) depth, (int) ((Pclaim *)pptr(0))->_p, src_claim[ (int) ((Pclaim *)pptr(0))->_p ]);
				reported12 = 1;
				fflush(stdout);
		}	}
#endif
#endif
		reached[3][12] = 1;
		if (!( !(((int)now.cs[2]))))
			continue;
		_m = 3; goto P999; /* 0 */
	case 7: // STATE 17 - _spin_nvr.tmp:23 - [(!(cs[1]))] (0:0:0 - 1)
		
#if defined(VERI) && !defined(NP)
#if NCLAIMS>1
		{	static int reported17 = 0;
			if (verbose && !reported17)
			{	int nn = (int) ((Pclaim *)pptr(0))->_n;
				printf("depth %ld: Claim %s (%d), state %d (line %d)\n",
					depth, procname[spin_c_typ[nn]], nn, (int) ((Pclaim *)pptr(0))->_p, src_claim[ (int) ((Pclaim *)pptr(0))->_p ]);
				reported17 = 1;
				fflush(stdout);
		}	}
#else
		{	static int reported17 = 0;
			if (verbose && !reported17)
			{	printf("depth %d: Claim, state %d (line %d)\n",
					(int) depth, (int) ((Pclaim *)pptr(0))->_p, src_claim[ (int) ((Pclaim *)pptr(0))->_p ]);
				reported17 = 1;
				fflush(stdout);
		}	}
#endif
#endif
		reached[3][17] = 1;
		if (!( !(((int)now.cs[1]))))
			continue;
		_m = 3; goto P999; /* 0 */
	case 8: // STATE 22 - _spin_nvr.tmp:27 - [(!(cs[0]))] (0:0:0 - 1)
		
#if defined(VERI) && !defined(NP)
#if NCLAIMS>1
		{	static int reported22 = 0;
			if (verbose && !reported22)
			{	int nn = (int) ((Pclaim *)pptr(0))->_n;
				printf("depth %ld: Claim %s (%d), state %d (line %d)\n",
					depth, procname[spin_c_typ[nn]], nn, (int) ((Pclaim *)pptr(0))->_p, src_claim[ (int) ((Pclaim *)pptr(0))->_p ]);
				reported22 = 1;
				fflush(stdout);
		}	}
#else
		{	static int reported22 = 0;
			if (verbose && !reported22)
			{	printf("depth %d: Claim, state %d (line %d)\n",
					(int) depth, (int) ((Pclaim *)pptr(0))->_p, src_claim[ (int) ((Pclaim *)pptr(0))->_p ]);
				reported22 = 1;
				fflush(stdout);
		}	}
#endif
#endif
		reached[3][22] = 1;
		if (!( !(((int)now.cs[0]))))
			continue;
		_m = 3; goto P999; /* 0 */
	case 9: // STATE 27 - _spin_nvr.tmp:29 - [-end-] (0:0:0 - 1)
		
#if defined(VERI) && !defined(NP)
#if NCLAIMS>1
		{	static int reported27 = 0;
			if (verbose && !reported27)
			{	int nn = (int) ((Pclaim *)pptr(0))->_n;
				printf("depth %ld: Claim %s (%d), state %d (line %d)\n",
					depth, procname[spin_c_typ[nn]], nn, (int) ((Pclaim *)pptr(0))->_p, src_claim[ (int) ((Pclaim *)pptr(0))->_p ]);
				reported27 = 1;
				fflush(stdout);
		}	}
#else
		{	static int reported27 = 0;
			if (verbose && !reported27)
			{	printf("depth %d: Claim, state %d (line %d)\n",
					(int) depth, (int) ((Pclaim *)pptr(0))->_p, src_claim[ (int) ((Pclaim *)pptr(0))->_p ]);
				reported27 = 1;
				fflush(stdout);
		}	}
#endif
#endif
		reached[3][27] = 1;
		if (!delproc(1, II)) continue;
		_m = 3; goto P999; /* 0 */

		 /* CLAIM wrap_never */
	case 10: // STATE 1 - _spin_nvr.tmp:3 - [(!((wraps==0)))] (6:0:0 - 1)
		
#if defined(VERI) && !defined(NP)
#if NCLAIMS>1
		{	static int reported1 = 0;
			if (verbose && !reported1)
			{	int nn = (int) ((Pclaim *)pptr(0))->_n;
				printf("depth %ld: Claim %s (%d), state %d (line %d)\n",
					depth, procname[spin_c_typ[nn]], nn, (int) ((Pclaim *)pptr(0))->_p, src_claim[ (int) ((Pclaim *)pptr(0))->_p ]);
				reported1 = 1;
				fflush(stdout);
		}	}
#else
		{	static int reported1 = 0;
			if (verbose && !reported1)
			{	printf("depth %d: Claim, state %d (line %d)\n",
					(int) depth, (int) ((Pclaim *)pptr(0))->_p, src_claim[ (int) ((Pclaim *)pptr(0))->_p ]);
				reported1 = 1;
				fflush(stdout);
		}	}
#endif
#endif
		reached[2][1] = 1;
		if (!( !((((int)now.wraps)==0))))
			continue;
		/* merge: assert(!(!((wraps==0))))(0, 2, 6) */
		reached[2][2] = 1;
		spin_assert( !( !((((int)now.wraps)==0))), " !( !((wraps==0)))", II, tt, t);
		/* merge: .(goto)(0, 7, 6) */
		reached[2][7] = 1;
		;
		_m = 3; goto P999; /* 2 */
	case 11: // STATE 10 - _spin_nvr.tmp:8 - [-end-] (0:0:0 - 1)
		
#if defined(VERI) && !defined(NP)
#if NCLAIMS>1
		{	static int reported10 = 0;
			if (verbose && !reported10)
			{	int nn = (int) ((Pclaim *)pptr(0))->_n;
				printf("depth %ld: Claim %s (%d), state %d (line %d)\n",
					depth, procname[spin_c_typ[nn]], nn, (int) ((Pclaim *)pptr(0))->_p, src_claim[ (int) ((Pclaim *)pptr(0))->_p ]);
				reported10 = 1;
				fflush(stdout);
		}	}
#else
		{	static int reported10 = 0;
			if (verbose && !reported10)
			{	printf("depth %d: Claim, state %d (line %d)\n",
					(int) depth, (int) ((Pclaim *)pptr(0))->_p, src_claim[ (int) ((Pclaim *)pptr(0))->_p ]);
				reported10 = 1;
				fflush(stdout);
		}	}
#endif
#endif
		reached[2][10] = 1;
		if (!delproc(1, II)) continue;
		_m = 3; goto P999; /* 0 */

		 /* PROC :init: */
	case 12: // STATE 1 - ticket_lock.pml:145 - [(run hart(0))] (0:0:0 - 1)
		IfNotBlocked
		reached[1][1] = 1;
		if (!(addproc(II, 1, 0, 0)))
			continue;
		_m = 3; goto P999; /* 0 */
	case 13: // STATE 2 - ticket_lock.pml:146 - [(run hart(1))] (0:0:0 - 1)
		IfNotBlocked
		reached[1][2] = 1;
		if (!(addproc(II, 1, 0, 1)))
			continue;
		_m = 3; goto P999; /* 0 */
	case 14: // STATE 3 - ticket_lock.pml:147 - [(run hart(2))] (0:0:0 - 1)
		IfNotBlocked
		reached[1][3] = 1;
		if (!(addproc(II, 1, 0, 2)))
			continue;
		_m = 3; goto P999; /* 0 */
	case 15: // STATE 5 - ticket_lock.pml:149 - [-end-] (0:0:0 - 1)
		IfNotBlocked
		reached[1][5] = 1;
		if (!delproc(1, II)) continue;
		_m = 3; goto P999; /* 0 */

		 /* PROC hart */
	case 16: // STATE 1 - ticket_lock.pml:128 - [((me!=2))] (0:0:0 - 1)
		IfNotBlocked
		reached[0][1] = 1;
		if (!((((int)((P0 *)_this)->me)!=2)))
			continue;
		_m = 3; goto P999; /* 0 */
	case 17: // STATE 2 - ticket_lock.pml:56 - [t = (word/4)] (0:4:2 - 1)
		IfNotBlocked
		reached[0][2] = 1;
		(trpt+1)->bup.ovals = grab_ints(2);
		(trpt+1)->bup.ovals[0] = ((int)((P0 *)_this)->t);
		((P0 *)_this)->t = (((int)now.word)/4);
#ifdef VAR_RANGES
		logval("hart:t", ((int)((P0 *)_this)->t));
#endif
		;
		/* merge: word = ((word+4)%16)(4, 3, 4) */
		reached[0][3] = 1;
		(trpt+1)->bup.ovals[1] = ((int)now.word);
		now.word = ((((int)now.word)+4)%16);
#ifdef VAR_RANGES
		logval("word", ((int)now.word));
#endif
		;
		_m = 3; goto P999; /* 1 */
	case 18: // STATE 4 - ticket_lock.pml:58 - [order!me] (0:0:0 - 1)
		IfNotBlocked
		reached[0][4] = 1;
		if (q_full(now.order))
			continue;
#ifdef HAS_CODE
		if (readtrail && gui) {
			char simtmp[64];
			sprintf(simvals, "%d!", now.order);
		sprintf(simtmp, "%d", ((int)((P0 *)_this)->me)); strcat(simvals, simtmp);		}
#endif
		
		qsend(now.order, 0, ((int)((P0 *)_this)->me), 1);
		_m = 2; goto P999; /* 0 */
	case 19: // STATE 6 - ticket_lock.pml:61 - [(((word%4)==t))] (0:0:1 - 1)
		IfNotBlocked
		reached[0][6] = 1;
		if (!(((((int)now.word)%4)==((int)((P0 *)_this)->t))))
			continue;
		if (TstOnly) return 1; /* TT */
		/* dead 1: t */  (trpt+1)->bup.oval = ((P0 *)_this)->t;
#ifdef HAS_CODE
		if (!readtrail)
#endif
			((P0 *)_this)->t = 0;
		_m = 3; goto P999; /* 0 */
	case 20: // STATE 8 - ticket_lock.pml:109 - [order?<eval(me)>] (0:0:1 - 1)
		reached[0][8] = 1;
		if (q_len(now.order) == 0) continue;

		XX=1;
		if (((int)((P0 *)_this)->me) != qrecv(now.order, 0, 0, 0)) continue;
		;
		_m = 4; goto P999; /* 0 */
	case 21: // STATE 9 - ticket_lock.pml:110 - [order?_] (13:0:3 - 1)
		reached[0][9] = 1;
		if (q_len(now.order) == 0) continue;

		XX=1;
		(trpt+1)->bup.ovals = grab_ints(3);
		(trpt+1)->bup.ovals[0] = qrecv(now.order, XX-1, 0, 0);
		;
		qrecv(now.order, XX-1, 0, 1);
		
#ifdef HAS_CODE
		if (readtrail && gui) {
			char simtmp[32];
			sprintf(simvals, "%d?", now.order);
		sprintf(simtmp, "%d", ((int)_)); strcat(simvals, simtmp);		}
#endif
		;
		/* merge: in_cs = (in_cs+1)(13, 10, 13) */
		reached[0][10] = 1;
		(trpt+1)->bup.ovals[1] = ((int)now.in_cs);
		now.in_cs = (((int)now.in_cs)+1);
#ifdef VAR_RANGES
		logval("in_cs", ((int)now.in_cs));
#endif
		;
		/* merge: cs[me] = 1(13, 11, 13) */
		reached[0][11] = 1;
		(trpt+1)->bup.ovals[2] = ((int)now.cs[ Index(((int)((P0 *)_this)->me), 3) ]);
		now.cs[ Index(((P0 *)_this)->me, 3) ] = 1;
#ifdef VAR_RANGES
		logval("cs[hart:me]", ((int)now.cs[ Index(((int)((P0 *)_this)->me), 3) ]));
#endif
		;
		_m = 4; goto P999; /* 2 */
	case 22: // STATE 13 - ticket_lock.pml:114 - [assert((in_cs==1))] (0:0:0 - 1)
		IfNotBlocked
		reached[0][13] = 1;
		spin_assert((((int)now.in_cs)==1), "(in_cs==1)", II, tt, t);
		_m = 3; goto P999; /* 0 */
	case 23: // STATE 14 - ticket_lock.pml:115 - [in_cs = (in_cs-1)] (0:32:2 - 1)
		IfNotBlocked
		reached[0][14] = 1;
		(trpt+1)->bup.ovals = grab_ints(2);
		(trpt+1)->bup.ovals[0] = ((int)now.in_cs);
		now.in_cs = (((int)now.in_cs)-1);
#ifdef VAR_RANGES
		logval("in_cs", ((int)now.in_cs));
#endif
		;
		/* merge: cs[me] = 0(32, 15, 32) */
		reached[0][15] = 1;
		(trpt+1)->bup.ovals[1] = ((int)now.cs[ Index(((int)((P0 *)_this)->me), 3) ]);
		now.cs[ Index(((P0 *)_this)->me, 3) ] = 0;
#ifdef VAR_RANGES
		logval("cs[hart:me]", ((int)now.cs[ Index(((int)((P0 *)_this)->me), 3) ]));
#endif
		;
		_m = 3; goto P999; /* 1 */
	case 24: // STATE 18 - ticket_lock.pml:89 - [o = (word%4)] (0:0:1 - 1)
		IfNotBlocked
		reached[0][18] = 1;
		(trpt+1)->bup.oval = ((int)((P0 *)_this)->o);
		((P0 *)_this)->o = (((int)now.word)%4);
#ifdef VAR_RANGES
		logval("hart:o", ((int)((P0 *)_this)->o));
#endif
		;
		_m = 3; goto P999; /* 0 */
	case 25: // STATE 19 - ticket_lock.pml:93 - [((o==3))] (29:0:1 - 1)
		IfNotBlocked
		reached[0][19] = 1;
		if (!((((int)((P0 *)_this)->o)==3)))
			continue;
		/* merge: word = ((((word+16)+1)-4)%16)(0, 20, 29) */
		reached[0][20] = 1;
		(trpt+1)->bup.oval = ((int)now.word);
		now.word = ((((((int)now.word)+16)+1)-4)%16);
#ifdef VAR_RANGES
		logval("word", ((int)now.word));
#endif
		;
		/* merge: .(goto)(0, 24, 29) */
		reached[0][24] = 1;
		;
		_m = 3; goto P999; /* 2 */
	case 26: // STATE 22 - ticket_lock.pml:94 - [word = ((word+1)%16)] (0:0:1 - 1)
		IfNotBlocked
		reached[0][22] = 1;
		(trpt+1)->bup.oval = ((int)now.word);
		now.word = ((((int)now.word)+1)%16);
#ifdef VAR_RANGES
		logval("word", ((int)now.word));
#endif
		;
		_m = 3; goto P999; /* 0 */
	case 27: // STATE 25 - ticket_lock.pml:100 - [(((o==3)&&(wraps<255)))] (82:0:2 - 1)
		IfNotBlocked
		reached[0][25] = 1;
		if (!(((((int)((P0 *)_this)->o)==3)&&(((int)now.wraps)<255))))
			continue;
		if (TstOnly) return 1; /* TT */
		/* dead 1: o */  (trpt+1)->bup.ovals = grab_ints(2);
		(trpt+1)->bup.ovals[0] = ((P0 *)_this)->o;
#ifdef HAS_CODE
		if (!readtrail)
#endif
			((P0 *)_this)->o = 0;
		/* merge: wraps = (wraps+1)(82, 26, 82) */
		reached[0][26] = 1;
		(trpt+1)->bup.ovals[1] = ((int)now.wraps);
		now.wraps = (((int)now.wraps)+1);
#ifdef VAR_RANGES
		logval("wraps", ((int)now.wraps));
#endif
		;
		/* merge: .(goto)(82, 30, 82) */
		reached[0][30] = 1;
		;
		/* merge: .(goto)(0, 83, 82) */
		reached[0][83] = 1;
		;
		_m = 3; goto P999; /* 3 */
	case 28: // STATE 30 - ticket_lock.pml:103 - [.(goto)] (0:82:0 - 2)
		IfNotBlocked
		reached[0][30] = 1;
		;
		/* merge: .(goto)(0, 83, 82) */
		reached[0][83] = 1;
		;
		_m = 3; goto P999; /* 1 */
	case 29: // STATE 28 - ticket_lock.pml:101 - [(1)] (82:0:0 - 1)
		IfNotBlocked
		reached[0][28] = 1;
		if (!(1))
			continue;
		/* merge: .(goto)(82, 30, 82) */
		reached[0][30] = 1;
		;
		/* merge: .(goto)(0, 83, 82) */
		reached[0][83] = 1;
		;
		_m = 3; goto P999; /* 2 */
	case 30: // STATE 33 - ticket_lock.pml:132 - [((me==2))] (0:0:0 - 1)
		IfNotBlocked
		reached[0][33] = 1;
		if (!((((int)((P0 *)_this)->me)==2)))
			continue;
		_m = 3; goto P999; /* 0 */
	case 31: // STATE 34 - ticket_lock.pml:67 - [seen = 0] (0:0:1 - 1)
		IfNotBlocked
		reached[0][34] = 1;
		(trpt+1)->bup.oval = ((int)((P0 *)_this)->_2_4_seen);
		((P0 *)_this)->_2_4_seen = 0;
#ifdef VAR_RANGES
		logval("hart:seen", ((int)((P0 *)_this)->_2_4_seen));
#endif
		;
		_m = 3; goto P999; /* 0 */
	case 32: // STATE 35 - ticket_lock.pml:67 - [seen = word] (0:0:1 - 1)
		IfNotBlocked
		reached[0][35] = 1;
		(trpt+1)->bup.oval = ((int)((P0 *)_this)->_2_4_seen);
		((P0 *)_this)->_2_4_seen = ((int)now.word);
#ifdef VAR_RANGES
		logval("hart:seen", ((int)((P0 *)_this)->_2_4_seen));
#endif
		;
		_m = 3; goto P999; /* 0 */
	case 33: // STATE 36 - ticket_lock.pml:71 - [((((seen%4)==(seen/4))&&(word==seen)))] (38:0:2 - 1)
		IfNotBlocked
		reached[0][36] = 1;
		if (!((((((int)((P0 *)_this)->_2_4_seen)%4)==(((int)((P0 *)_this)->_2_4_seen)/4))&&(((int)now.word)==((int)((P0 *)_this)->_2_4_seen)))))
			continue;
		if (TstOnly) return 1; /* TT */
		/* dead 1: _2_4_seen */  (trpt+1)->bup.ovals = grab_ints(2);
		(trpt+1)->bup.ovals[0] = ((P0 *)_this)->_2_4_seen;
#ifdef HAS_CODE
		if (!readtrail)
#endif
			((P0 *)_this)->_2_4_seen = 0;
		/* merge: word = ((word+4)%16)(0, 37, 38) */
		reached[0][37] = 1;
		(trpt+1)->bup.ovals[1] = ((int)now.word);
		now.word = ((((int)now.word)+4)%16);
#ifdef VAR_RANGES
		logval("word", ((int)now.word));
#endif
		;
		_m = 3; goto P999; /* 1 */
	case 34: // STATE 38 - ticket_lock.pml:73 - [order!me] (55:0:1 - 1)
		IfNotBlocked
		reached[0][38] = 1;
		if (q_full(now.order))
			continue;
#ifdef HAS_CODE
		if (readtrail && gui) {
			char simtmp[64];
			sprintf(simvals, "%d!", now.order);
		sprintf(simtmp, "%d", ((int)((P0 *)_this)->me)); strcat(simvals, simtmp);		}
#endif
		
		qsend(now.order, 0, ((int)((P0 *)_this)->me), 1);
		/* merge: ok = 1(55, 39, 55) */
		reached[0][39] = 1;
		(trpt+1)->bup.oval = ((int)((P0 *)_this)->ok);
		((P0 *)_this)->ok = 1;
#ifdef VAR_RANGES
		logval("hart:ok", ((int)((P0 *)_this)->ok));
#endif
		;
		/* merge: .(goto)(55, 43, 55) */
		reached[0][43] = 1;
		;
		_m = 2; goto P999; /* 2 */
	case 35: // STATE 43 - ticket_lock.pml:77 - [.(goto)] (0:55:0 - 2)
		IfNotBlocked
		reached[0][43] = 1;
		;
		_m = 3; goto P999; /* 0 */
	case 36: // STATE 41 - ticket_lock.pml:75 - [ok = 0] (0:55:1 - 1)
		IfNotBlocked
		reached[0][41] = 1;
		(trpt+1)->bup.oval = ((int)((P0 *)_this)->ok);
		((P0 *)_this)->ok = 0;
#ifdef VAR_RANGES
		logval("hart:ok", ((int)((P0 *)_this)->ok));
#endif
		;
		/* merge: .(goto)(55, 43, 55) */
		reached[0][43] = 1;
		;
		_m = 3; goto P999; /* 1 */
	case 37: // STATE 46 - ticket_lock.pml:135 - [(!(ok))] (0:0:1 - 1)
		IfNotBlocked
		reached[0][46] = 1;
		if (!( !(((int)((P0 *)_this)->ok))))
			continue;
		if (TstOnly) return 1; /* TT */
		/* dead 1: ok */  (trpt+1)->bup.oval = ((P0 *)_this)->ok;
#ifdef HAS_CODE
		if (!readtrail)
#endif
			((P0 *)_this)->ok = 0;
		_m = 3; goto P999; /* 0 */
	case 38: // STATE 47 - ticket_lock.pml:56 - [t = (word/4)] (0:49:2 - 1)
		IfNotBlocked
		reached[0][47] = 1;
		(trpt+1)->bup.ovals = grab_ints(2);
		(trpt+1)->bup.ovals[0] = ((int)((P0 *)_this)->t);
		((P0 *)_this)->t = (((int)now.word)/4);
#ifdef VAR_RANGES
		logval("hart:t", ((int)((P0 *)_this)->t));
#endif
		;
		/* merge: word = ((word+4)%16)(49, 48, 49) */
		reached[0][48] = 1;
		(trpt+1)->bup.ovals[1] = ((int)now.word);
		now.word = ((((int)now.word)+4)%16);
#ifdef VAR_RANGES
		logval("word", ((int)now.word));
#endif
		;
		_m = 3; goto P999; /* 1 */
	case 39: // STATE 49 - ticket_lock.pml:58 - [order!me] (0:0:0 - 1)
		IfNotBlocked
		reached[0][49] = 1;
		if (q_full(now.order))
			continue;
#ifdef HAS_CODE
		if (readtrail && gui) {
			char simtmp[64];
			sprintf(simvals, "%d!", now.order);
		sprintf(simtmp, "%d", ((int)((P0 *)_this)->me)); strcat(simvals, simtmp);		}
#endif
		
		qsend(now.order, 0, ((int)((P0 *)_this)->me), 1);
		_m = 2; goto P999; /* 0 */
	case 40: // STATE 51 - ticket_lock.pml:61 - [(((word%4)==t))] (0:0:1 - 1)
		IfNotBlocked
		reached[0][51] = 1;
		if (!(((((int)now.word)%4)==((int)((P0 *)_this)->t))))
			continue;
		if (TstOnly) return 1; /* TT */
		/* dead 1: t */  (trpt+1)->bup.oval = ((P0 *)_this)->t;
#ifdef HAS_CODE
		if (!readtrail)
#endif
			((P0 *)_this)->t = 0;
		_m = 3; goto P999; /* 0 */
	case 41: // STATE 57 - ticket_lock.pml:109 - [order?<eval(me)>] (0:0:1 - 1)
		reached[0][57] = 1;
		if (q_len(now.order) == 0) continue;

		XX=1;
		if (((int)((P0 *)_this)->me) != qrecv(now.order, 0, 0, 0)) continue;
		;
		_m = 4; goto P999; /* 0 */
	case 42: // STATE 58 - ticket_lock.pml:110 - [order?_] (62:0:3 - 1)
		reached[0][58] = 1;
		if (q_len(now.order) == 0) continue;

		XX=1;
		(trpt+1)->bup.ovals = grab_ints(3);
		(trpt+1)->bup.ovals[0] = qrecv(now.order, XX-1, 0, 0);
		;
		qrecv(now.order, XX-1, 0, 1);
		
#ifdef HAS_CODE
		if (readtrail && gui) {
			char simtmp[32];
			sprintf(simvals, "%d?", now.order);
		sprintf(simtmp, "%d", ((int)_)); strcat(simvals, simtmp);		}
#endif
		;
		/* merge: in_cs = (in_cs+1)(62, 59, 62) */
		reached[0][59] = 1;
		(trpt+1)->bup.ovals[1] = ((int)now.in_cs);
		now.in_cs = (((int)now.in_cs)+1);
#ifdef VAR_RANGES
		logval("in_cs", ((int)now.in_cs));
#endif
		;
		/* merge: cs[me] = 1(62, 60, 62) */
		reached[0][60] = 1;
		(trpt+1)->bup.ovals[2] = ((int)now.cs[ Index(((int)((P0 *)_this)->me), 3) ]);
		now.cs[ Index(((P0 *)_this)->me, 3) ] = 1;
#ifdef VAR_RANGES
		logval("cs[hart:me]", ((int)now.cs[ Index(((int)((P0 *)_this)->me), 3) ]));
#endif
		;
		_m = 4; goto P999; /* 2 */
	case 43: // STATE 62 - ticket_lock.pml:114 - [assert((in_cs==1))] (0:0:0 - 1)
		IfNotBlocked
		reached[0][62] = 1;
		spin_assert((((int)now.in_cs)==1), "(in_cs==1)", II, tt, t);
		_m = 3; goto P999; /* 0 */
	case 44: // STATE 63 - ticket_lock.pml:115 - [in_cs = (in_cs-1)] (0:81:2 - 1)
		IfNotBlocked
		reached[0][63] = 1;
		(trpt+1)->bup.ovals = grab_ints(2);
		(trpt+1)->bup.ovals[0] = ((int)now.in_cs);
		now.in_cs = (((int)now.in_cs)-1);
#ifdef VAR_RANGES
		logval("in_cs", ((int)now.in_cs));
#endif
		;
		/* merge: cs[me] = 0(81, 64, 81) */
		reached[0][64] = 1;
		(trpt+1)->bup.ovals[1] = ((int)now.cs[ Index(((int)((P0 *)_this)->me), 3) ]);
		now.cs[ Index(((P0 *)_this)->me, 3) ] = 0;
#ifdef VAR_RANGES
		logval("cs[hart:me]", ((int)now.cs[ Index(((int)((P0 *)_this)->me), 3) ]));
#endif
		;
		_m = 3; goto P999; /* 1 */
	case 45: // STATE 67 - ticket_lock.pml:89 - [o = (word%4)] (0:0:1 - 1)
		IfNotBlocked
		reached[0][67] = 1;
		(trpt+1)->bup.oval = ((int)((P0 *)_this)->o);
		((P0 *)_this)->o = (((int)now.word)%4);
#ifdef VAR_RANGES
		logval("hart:o", ((int)((P0 *)_this)->o));
#endif
		;
		_m = 3; goto P999; /* 0 */
	case 46: // STATE 68 - ticket_lock.pml:93 - [((o==3))] (78:0:1 - 1)
		IfNotBlocked
		reached[0][68] = 1;
		if (!((((int)((P0 *)_this)->o)==3)))
			continue;
		/* merge: word = ((((word+16)+1)-4)%16)(0, 69, 78) */
		reached[0][69] = 1;
		(trpt+1)->bup.oval = ((int)now.word);
		now.word = ((((((int)now.word)+16)+1)-4)%16);
#ifdef VAR_RANGES
		logval("word", ((int)now.word));
#endif
		;
		/* merge: .(goto)(0, 73, 78) */
		reached[0][73] = 1;
		;
		_m = 3; goto P999; /* 2 */
	case 47: // STATE 71 - ticket_lock.pml:94 - [word = ((word+1)%16)] (0:0:1 - 1)
		IfNotBlocked
		reached[0][71] = 1;
		(trpt+1)->bup.oval = ((int)now.word);
		now.word = ((((int)now.word)+1)%16);
#ifdef VAR_RANGES
		logval("word", ((int)now.word));
#endif
		;
		_m = 3; goto P999; /* 0 */
	case 48: // STATE 74 - ticket_lock.pml:100 - [(((o==3)&&(wraps<255)))] (82:0:2 - 1)
		IfNotBlocked
		reached[0][74] = 1;
		if (!(((((int)((P0 *)_this)->o)==3)&&(((int)now.wraps)<255))))
			continue;
		if (TstOnly) return 1; /* TT */
		/* dead 1: o */  (trpt+1)->bup.ovals = grab_ints(2);
		(trpt+1)->bup.ovals[0] = ((P0 *)_this)->o;
#ifdef HAS_CODE
		if (!readtrail)
#endif
			((P0 *)_this)->o = 0;
		/* merge: wraps = (wraps+1)(82, 75, 82) */
		reached[0][75] = 1;
		(trpt+1)->bup.ovals[1] = ((int)now.wraps);
		now.wraps = (((int)now.wraps)+1);
#ifdef VAR_RANGES
		logval("wraps", ((int)now.wraps));
#endif
		;
		/* merge: .(goto)(82, 79, 82) */
		reached[0][79] = 1;
		;
		/* merge: .(goto)(0, 83, 82) */
		reached[0][83] = 1;
		;
		_m = 3; goto P999; /* 3 */
	case 49: // STATE 79 - ticket_lock.pml:103 - [.(goto)] (0:82:0 - 2)
		IfNotBlocked
		reached[0][79] = 1;
		;
		/* merge: .(goto)(0, 83, 82) */
		reached[0][83] = 1;
		;
		_m = 3; goto P999; /* 1 */
	case 50: // STATE 77 - ticket_lock.pml:101 - [(1)] (82:0:0 - 1)
		IfNotBlocked
		reached[0][77] = 1;
		if (!(1))
			continue;
		/* merge: .(goto)(82, 79, 82) */
		reached[0][79] = 1;
		;
		/* merge: .(goto)(0, 83, 82) */
		reached[0][83] = 1;
		;
		_m = 3; goto P999; /* 2 */
	case 51: // STATE 85 - ticket_lock.pml:141 - [-end-] (0:0:0 - 1)
		IfNotBlocked
		reached[0][85] = 1;
		if (!delproc(1, II)) continue;
		_m = 3; goto P999; /* 0 */
	case  _T5:	/* np_ */
		if (!((!(trpt->o_pm&4) && !(trpt->tau&128))))
			continue;
		/* else fall through */
	case  _T2:	/* true */
		_m = 3; goto P999;
#undef rand
	}

