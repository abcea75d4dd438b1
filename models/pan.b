	switch (t->back) {
	default: Uerror("bad return move");
	case  0: goto R999; /* nothing to undo */

		 /* CLAIM live */
;
		;
		;
		;
		;
		;
		;
		;
		;
		;
		;
		;
		
	case 9: // STATE 27
		;
		p_restor(II);
		;
		;
		goto R999;

		 /* CLAIM wrap_never */
;
		
	case 10: // STATE 1
		goto R999;

	case 11: // STATE 10
		;
		p_restor(II);
		;
		;
		goto R999;

		 /* PROC :init: */

	case 12: // STATE 1
		;
		;
		delproc(0, now._nr_pr-1);
		;
		goto R999;

	case 13: // STATE 2
		;
		;
		delproc(0, now._nr_pr-1);
		;
		goto R999;

	case 14: // STATE 3
		;
		;
		delproc(0, now._nr_pr-1);
		;
		goto R999;

	case 15: // STATE 5
		;
		p_restor(II);
		;
		;
		goto R999;

		 /* PROC hart */
;
		;
		
	case 17: // STATE 3
		;
		now.word = trpt->bup.ovals[1];
		((P0 *)_this)->t = trpt->bup.ovals[0];
		;
		ungrab_ints(trpt->bup.ovals, 2);
		goto R999;

	case 18: // STATE 4
		;
		_m = unsend(now.order);
		;
		goto R999;

	case 19: // STATE 6
		;
	/* 0 */	((P0 *)_this)->t = trpt->bup.oval;
		;
		;
		goto R999;

	case 20: // STATE 8
		;
		;
		;
		goto R999;

	case 21: // STATE 11
		;
		now.cs[ Index(((P0 *)_this)->me, 3) ] = trpt->bup.ovals[2];
		now.in_cs = trpt->bup.ovals[1];
		XX = 1;
		unrecv(now.order, XX-1, 0, trpt->bup.ovals[0], 1);
		;
		;
		ungrab_ints(trpt->bup.ovals, 3);
		goto R999;
;
		;
		
	case 23: // STATE 15
		;
		now.cs[ Index(((P0 *)_this)->me, 3) ] = trpt->bup.ovals[1];
		now.in_cs = trpt->bup.ovals[0];
		;
		ungrab_ints(trpt->bup.ovals, 2);
		goto R999;

	case 24: // STATE 18
		;
		((P0 *)_this)->o = trpt->bup.oval;
		;
		goto R999;

	case 25: // STATE 20
		;
		now.word = trpt->bup.oval;
		;
		goto R999;

	case 26: // STATE 22
		;
		now.word = trpt->bup.oval;
		;
		goto R999;

	case 27: // STATE 26
		;
		now.wraps = trpt->bup.ovals[1];
	/* 0 */	((P0 *)_this)->o = trpt->bup.ovals[0];
		;
		;
		ungrab_ints(trpt->bup.ovals, 2);
		goto R999;
;
		
	case 28: // STATE 30
		goto R999;
;
		
	case 29: // STATE 28
		goto R999;
;
		;
		
	case 31: // STATE 34
		;
		((P0 *)_this)->_2_4_seen = trpt->bup.oval;
		;
		goto R999;

	case 32: // STATE 35
		;
		((P0 *)_this)->_2_4_seen = trpt->bup.oval;
		;
		goto R999;

	case 33: // STATE 37
		;
		now.word = trpt->bup.ovals[1];
	/* 0 */	((P0 *)_this)->_2_4_seen = trpt->bup.ovals[0];
		;
		;
		ungrab_ints(trpt->bup.ovals, 2);
		goto R999;

	case 34: // STATE 39
		;
		((P0 *)_this)->ok = trpt->bup.oval;
		_m = unsend(now.order);
		;
		goto R999;
;
		
	case 35: // STATE 43
		goto R999;

	case 36: // STATE 41
		;
		((P0 *)_this)->ok = trpt->bup.oval;
		;
		goto R999;

	case 37: // STATE 46
		;
	/* 0 */	((P0 *)_this)->ok = trpt->bup.oval;
		;
		;
		goto R999;

	case 38: // STATE 48
		;
		now.word = trpt->bup.ovals[1];
		((P0 *)_this)->t = trpt->bup.ovals[0];
		;
		ungrab_ints(trpt->bup.ovals, 2);
		goto R999;

	case 39: // STATE 49
		;
		_m = unsend(now.order);
		;
		goto R999;

	case 40: // STATE 51
		;
	/* 0 */	((P0 *)_this)->t = trpt->bup.oval;
		;
		;
		goto R999;

	case 41: // STATE 57
		;
		;
		;
		goto R999;

	case 42: // STATE 60
		;
		now.cs[ Index(((P0 *)_this)->me, 3) ] = trpt->bup.ovals[2];
		now.in_cs = trpt->bup.ovals[1];
		XX = 1;
		unrecv(now.order, XX-1, 0, trpt->bup.ovals[0], 1);
		;
		;
		ungrab_ints(trpt->bup.ovals, 3);
		goto R999;
;
		;
		
	case 44: // STATE 64
		;
		now.cs[ Index(((P0 *)_this)->me, 3) ] = trpt->bup.ovals[1];
		now.in_cs = trpt->bup.ovals[0];
		;
		ungrab_ints(trpt->bup.ovals, 2);
		goto R999;

	case 45: // STATE 67
		;
		((P0 *)_this)->o = trpt->bup.oval;
		;
		goto R999;

	case 46: // STATE 69
		;
		now.word = trpt->bup.oval;
		;
		goto R999;

	case 47: // STATE 71
		;
		now.word = trpt->bup.oval;
		;
		goto R999;

	case 48: // STATE 75
		;
		now.wraps = trpt->bup.ovals[1];
	/* 0 */	((P0 *)_this)->o = trpt->bup.ovals[0];
		;
		;
		ungrab_ints(trpt->bup.ovals, 2);
		goto R999;
;
		
	case 49: // STATE 79
		goto R999;
;
		
	case 50: // STATE 77
		goto R999;

	case 51: // STATE 85
		;
		p_restor(II);
		;
		;
		goto R999;
	}

